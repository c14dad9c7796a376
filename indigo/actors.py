"""Who acts, for the changes that reach a service through Django's signals rather than a call (an admin's edit of
the calendar or of a summer schedule re-times deadlines in placement, which schedules knows nothing of): every
request names its user here (indigo.middleware.ActorMiddleware), and the receiver passes it on as the service's
`by`, so that the re-timing is audited as that person's (DOMAIN.md, People and security: every state change is
audited, who, when, what)."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_actor: ContextVar = ContextVar("indigo_actor", default=None)


@contextmanager
def acting(user) -> Iterator[None]:
    """`user` acts in what is done inside (their request's saves and deletes)."""
    token = _actor.set(user)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor():
    """The user acting now, or None (a shell, a script, a task: the portal itself)."""
    return _actor.get()
