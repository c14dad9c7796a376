from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import translation

from placement.demo import DEMO_PARENT_LOGIN_PHONE, demo_seed


def spaced_phone(phone: str) -> str:
    """+77010000001 -> +7 701 000 00 01, as people read it."""
    return f"{phone[:2]} {phone[2:5]} {phone[5:8]} {phone[8:10]} {phone[10:]}"


class Command(BaseCommand):
    help = (
        "Create the Temirtau demo (2024 summer schedule, kindergartens, groups, places, staff and admin accounts, "
        "demo parents with children in the queue and a background queue). "
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
        self.stdout.write("")
        self.stdout.write(
            f"{len(result.parents)} demo parents; {result.applications_created} applications added to the queue"
            if result.applications_created
            else f"{len(result.parents)} demo parents; queue already seeded: no application added"
        )
        with translation.override("ru"):
            login_url = reverse("accounts:otp-login")
        backend = settings.SMS_BACKEND.rsplit(".", 1)[-1]
        self.stdout.write(
            self.style.WARNING(
                f"Parent login: {login_url} (SMS login), phone {spaced_phone(DEMO_PARENT_LOGIN_PHONE)} — "
                f"the code is printed on the web console ({backend})"
            )
        )
        for parent in result.parents:
            self.stdout.write(f"  {spaced_phone(parent.phone)}  {parent.last_name} {parent.first_name}")
        self.stdout.write(
            "  +7 701 000 00 03 has an extraordinary right pending: confirm it in the admin (Applications) "
            "and watch the position change."
        )
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
