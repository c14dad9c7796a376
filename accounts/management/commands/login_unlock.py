from django.core.management.base import BaseCommand

from accounts.services.lockout import login_unlock


class Command(BaseCommand):
    help = "End the password lockout of a username now (audited as login.unlocked); the lock by address stays."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        login_unlock(username=username)
        self.stdout.write(self.style.SUCCESS(f"{username}: unlocked"))
