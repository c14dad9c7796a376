from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from placement.services.scale_data import scale_data_flush, scale_data_generate


class Command(BaseCommand):
    help = (
        "Generate deterministic scale data for the benchmarks on PostgreSQL (issue 6): cities, kindergartens with "
        "groups, parents with API tokens and confirmed representations, queued applications, released places. "
        "Counts are totals, spread round-robin over the cities. For bench databases only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cities", type=int, default=1)
        parser.add_argument("--kindergartens", type=int, default=200, help="in all (default 200)")
        parser.add_argument("--applications", type=int, default=10_000, help="in all (default 10,000)")
        parser.add_argument("--places", type=int, default=2_000, help="released places in all (default 2,000)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--release-days", type=int, default=6, help="release over this many working days")
        parser.add_argument("--at", help="'now' of the data set, ISO date-time with offset (default: now)")
        parser.add_argument("--prefix", default="scale", help="city slugs are PREFIX-01, PREFIX-02, ...")
        parser.add_argument("--flush", action="store_true", help="empty the people, queue and placement tables first")

    def handle(self, *args, **options):
        at = timezone.now()
        if options["at"]:
            at = parse_datetime(options["at"])
            if at is None:
                raise CommandError(f"--at: not an ISO date-time: {options['at']!r}")
            if timezone.is_naive(at):
                at = timezone.make_aware(at)
        if min(options["cities"], options["kindergartens"]) < 1:
            raise CommandError("--cities and --kindergartens must be at least 1")
        try:
            if options["flush"]:
                scale_data_flush()
            summary = scale_data_generate(
                cities=options["cities"],
                kindergartens=options["kindergartens"],
                applications=options["applications"],
                places=options["places"],
                seed=options["seed"],
                at=at,
                release_days=options["release_days"],
                prefix=options["prefix"],
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        for name, seconds in summary.seconds.items():
            self.stdout.write(f"{name}: {seconds:.1f} s")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(summary.cities)} cities ({summary.cities[0].slug}...), {summary.kindergartens} kindergartens, "
                f"{summary.groups} groups, {summary.parents} parents with tokens, {summary.applications} applications, "
                f"{summary.places} places in {sum(summary.seconds.values()):.1f} s"
            )
        )
