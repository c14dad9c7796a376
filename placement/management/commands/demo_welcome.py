import signal
import sys
import time
import urllib.request

from django.core.management.base import BaseCommand

from ._demo_accounts import demo_accounts_write


class Command(BaseCommand):
    help = (
        "For `make run` (Procfile.dev): wait until the web process answers, then print the demo accounts, so that "
        "they are the last lines on the screen rather than lost above the start-up logs; then stay until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="the web process's address")
        parser.add_argument("--settle", type=float, default=3.0, help="seconds for the others' start-up lines")

    def handle(self, *args, url: str, settle: float, **options):
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, lambda *_: sys.exit(0))
        while not self.answers(url.rstrip("/") + "/healthz"):
            time.sleep(0.5)
        time.sleep(settle)  # the worker's and beat's start-up lines come first
        demo_accounts_write(self, url=url)
        self.stdout.flush()
        while True:
            signal.pause()

    @staticmethod
    def answers(address: str) -> bool:
        try:
            with urllib.request.urlopen(address, timeout=2) as response:  # noqa: S310 - our own local address
                return response.status == 200
        except OSError:
            return False
