from django.core.management.base import BaseCommand

from placement.demo import demo_seed

from ._demo_accounts import demo_accounts_write


class Command(BaseCommand):
    help = (
        "Create the Temirtau demo: its 2024 summer schedule and releases as history, a current campaign counted from "
        "today (places in priority and general access, scheduled, taken), kindergartens, groups, staff and admin "
        "accounts, demo parents with children in the queue and a background queue; a second city, Ust-Kamenogorsk, in "
        "offer mode, whose parents rank kindergartens (the 18:00 catch-up offers them places). Idempotent: running it "
        "again adds nothing twice; places are released only when the city has none. With -v 0, one line and no "
        "credentials (`make run` prints them last, once the servers are up)."
    )

    def handle(self, *args, verbosity=1, **options):
        result = demo_seed()
        city = result.city
        current = f", current campaign {result.current_schedule.year}" if result.current_schedule else ""
        summary = (
            f"{city.slug}: summer schedule {result.schedule.year} (history){current}, {len(result.kindergartens)} "
            f"kindergartens, {len(result.staff)} staff accounts; "
            + (
                f"{result.places_released} places released, {result.places_withdrawn} withdrawn, "
                f"{result.places_taken} taken"
                if result.places_released
                else "places already seeded: none released"
            )
            + "; "
            + (
                f"{len(result.parents)} demo parents; {result.applications_created} applications added to the queue"
                if result.applications_created
                else f"{len(result.parents)} demo parents; queue already seeded: no application added"
            )
        )
        if result.offer_city is not None:
            summary += f"; {result.offer_city.slug}: offer mode, applications with ranked kindergartens"
        self.stdout.write(summary)
        if verbosity >= 1:
            demo_accounts_write(self)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
