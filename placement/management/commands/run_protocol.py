from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from placement.models import City
from placement.services import run_daily


class Command(BaseCommand):
    help = "Run the 18:00 run by hand for a moment (default: now), catching up every missed protocol day."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="ISO date-time with offset, e.g. 2024-06-05T18:00+05:00")
        parser.add_argument("--city", help="city slug (default: every city)")

    def handle(self, *args, at=None, city=None, **options):
        moment = timezone.now()
        if at:
            moment = parse_datetime(at)
            if moment is None:
                raise CommandError(f"--at: not an ISO date-time: {at!r}")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)  # Astana time, the project's time zone
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
