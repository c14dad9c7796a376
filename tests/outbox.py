"""The SMS parents received through the notification outbox, for tests.

A test's transaction never commits, so the task asked for on commit never runs: `delivered()` runs the beat's
sweep (which sends every pending row that is due, as it does after a crash) and returns the LocmemBackend's
messages.
"""

from accounts import sms
from accounts.services.notifications import notifications_send_due


def delivered(at=None) -> list[sms.SmsMessage]:
    notifications_send_due(at=at)
    return list(sms.outbox)
