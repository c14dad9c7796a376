from django.core.management.base import BaseCommand, CommandError

from placement.models import City, Protocol
from placement.services.protocols import protocols_verify


class Command(BaseCommand):
    help = "Recompute the hash chain of the published release protocols; exit 1 naming the first bad day."

    def add_arguments(self, parser):
        parser.add_argument("--city", help="city slug (default: every city)")

    def handle(self, *args, city=None, **options):
        only = None
        if city:
            only = City.objects.filter(slug=city).first()
            if only is None:
                raise CommandError(f"--city: no city with slug {city!r}")
        problems = protocols_verify(city=only)
        if problems:
            for problem in problems:
                self.stderr.write(f"BAD {problem}")
            raise CommandError(f"first bad day: {problems[0]}", returncode=1)
        count = Protocol.objects.filter(city=only).count() if only else Protocol.objects.count()
        self.stdout.write(self.style.SUCCESS(f"{count} protocol(s) verified: the chain is intact"))
