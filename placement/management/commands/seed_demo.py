from django.core.management.base import BaseCommand

from placement.demo import demo_seed


class Command(BaseCommand):
    help = (
        "Create the Temirtau demo (2024 summer schedule, kindergartens, groups, places, staff and admin accounts). "
        "Idempotent: running it again adds nothing twice; places are released only when the city has none."
    )

    def handle(self, *args, **options):
        result = demo_seed()
        city = result.city
        self.stdout.write(
            f"{city.slug}: summer schedule {result.schedule.year}, {len(result.kindergartens)} kindergartens, "
            f"{len(result.staff)} staff accounts"
        )
        if result.places_released:
            self.stdout.write(f"{result.places_released} places released, {result.places_withdrawn} withdrawn")
        else:
            self.stdout.write("places already seeded: none released")
        self.stdout.write("")
        self.stdout.write(self.style.WARNING("DEMO-ONLY CREDENTIALS (local first run; never use them in production):"))
        for username, password, who in result.credentials:
            self.stdout.write(f"  {username:<16} {password:<20} {who}")
        self.stdout.write("  (passwords are set when an account is created; a changed password is left alone)")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
