from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from placement.models import City
from placement.services.daily import run_daily
from schedules.calendar import moment_parse


class Command(BaseCommand):
    help = "Run the 18:00 run by hand for a moment (default: now), catching up every missed protocol day."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="ISO date-time with offset, e.g. 2024-06-05T18:00+05:00")
        parser.add_argument("--city", help="city slug (default: every city)")

    def handle(self, *args, at=None, city=None, **options):
        moment = timezone.now()
        if at:
            try:
                moment = moment_parse(at)
            except ValueError as exc:
                raise CommandError(f"--at: {exc}") from None
        only = None
        if city:
            only = City.objects.filter(slug=city).first()
            if only is None:
                raise CommandError(f"--city: no city with slug {city!r}")
        published = run_daily(at=moment, city=only)
        for protocol in published:
            self.stdout.write(
                f"{protocol.city.slug} {protocol.day.isoformat()} {protocol.entry_count} entries "
                f"sha256={protocol.sha256}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(published)} protocol(s) published"))
