import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from placement.models import City
from placement.services.allocation_checks import allocations_verify


class Command(BaseCommand):
    help = (
        "Re-run each day's offer-mode allocation from its stored inputs: the inputs must match the SHA-256 the "
        "protocol published, the re-run must reproduce every offer, and justified envy must be 0. Exit 1 naming "
        "the first bad day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--city", help="city slug (default: every city)")
        parser.add_argument("--day", help="protocol day, YYYY-MM-DD (default: every day)")

    def handle(self, *args, city=None, day=None, **options):
        only = None
        if city:
            only = City.objects.filter(slug=city).first()
            if only is None:
                raise CommandError(f"--city: no city with slug {city!r}")
        on = None
        if day:
            try:
                on = dt.date.fromisoformat(day)
            except ValueError as exc:
                raise CommandError(f"--day: not a date (YYYY-MM-DD): {day!r}") from exc
        checks = allocations_verify(city=only, day=on)
        bad = [check for check in checks if check.problem]
        for check in checks:
            (self.stderr if check.problem else self.stdout).write(f"{'BAD' if check.problem else 'OK '} {check}")
        if bad:
            raise CommandError(f"first bad day: {bad[0]}", returncode=1)
        envy = sum(check.envy or 0 for check in checks)
        self.stdout.write(
            self.style.SUCCESS(f"{len(checks)} allocation(s) verified: every offer reproduced, justified envy {envy}")
        )
