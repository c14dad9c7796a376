"""Celery tasks of the accounts app: sending the notification outbox (accounts.services.notifications)."""

from celery import shared_task

from .services.notifications import notification_send as notification_send_service
from .services.notifications import notifications_send_due


# Asked for when the event's transaction commits. Acknowledged late: a worker lost mid-task hands the message to
# another, which finds the row claimed or sent and does nothing (a row is claimed before it is sent).
@shared_task(name="accounts.tasks.notification_send", ignore_result=True, acks_late=True)
def notification_send(key: str) -> str | None:
    """Send the notification of one event, named by its key, if it is still pending and due."""
    return notification_send_service(key=key)


@shared_task(name="accounts.tasks.notifications_sweep", ignore_result=True)
def notifications_sweep() -> dict:
    """The beat sweep: send every pending notification that is due (recovery after a crash or a broker outage,
    retries after a gateway failure, and the rows written in bulk)."""
    return notifications_send_due()
