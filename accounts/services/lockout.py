"""Password logins are locked out after repeated failures (issue 7; DOMAIN.md, People and security).

Rules, for every password login (the staff/admin login page and the Django admin's login):
- LOGIN_LOCKOUT_FAILURES failed passwords for one username from one IP address within LOGIN_LOCKOUT_WINDOW_SECONDS
  lock that username at that address until LOGIN_LOCKOUT_SECONDS after the last of them, and
  LOGIN_LOCKOUT_USERNAME_FAILURES failures from all addresses together lock it everywhere (guessing spread over
  many addresses); a successful login of that username, or `manage.py login_unlock`, starts the count afresh;
- LOGIN_LOCKOUT_IP_FAILURES failures from one IP address within the window lock that address the same way
  (one address trying many usernames); it is higher than the username limit because a kindergarten's or the
  department's office shares one address, so one person's typos never lock out their colleagues;
- failures are counted from the audit records every failed password leaves (`login.password_failed`,
  accounts.signals), in the database: the limit holds with Redis down and across every web process;
- while locked, the password is not checked at all (a locked attempt learns nothing and does not extend the lock)
  and the attempt is audited as `login.locked_out`; the failure that starts a lock is audited as `login.locked`;
- the answer is the same whether or not the username exists (no enumeration).

Two concurrent attempts may both pass the check, so an attacker racing the limit gets at most a few more tries
than the limit; the lock itself still follows.
"""

import datetime as dt
import math

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from indigo.errors import RateLimited

from ..models import AuditEntry, LoginRecord
from .audit import audit_record

FAILED = "login.password_failed"
UNLOCKED = "login.unlocked"
USERNAME_LENGTH = 150  # what is kept of the username typed (accounts.signals records the failures)


class LoginLockedOut(RateLimited, code="locked_out"):
    """A password login refused because of earlier failures at `at`: `until` (aware), `scope` ("username" or
    "ip"); `retry_after` is the seconds from `at` until the lock ends."""

    def __init__(self, *, until: dt.datetime, scope: str, at: dt.datetime):
        self.until = until
        self.scope = scope
        message = _("Too many failed login attempts. Try again after %(time)s.") % {
            "time": timezone.localtime(until).strftime("%H:%M")
        }
        super().__init__(message, retry_after=max(1, math.ceil((until - at).total_seconds())))


def _lock_until(failures, *, limit: int, at: dt.datetime, since=None) -> dt.datetime | None:
    """The end of the lock the failures put in place at `at`, or None.

    Locked while the latest `limit` failures fall within the window and the last of them is less than the lock's
    length ago. Locked attempts are not failures, so the latest ones are the ones that started the lock.
    """
    if limit <= 0:
        return None
    window = dt.timedelta(seconds=settings.LOGIN_LOCKOUT_WINDOW_SECONDS)
    duration = dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    failures = failures.filter(action=FAILED, at__gt=at - duration - window, at__lte=at)
    if since is not None:
        failures = failures.filter(at__gt=since)
    times = list(failures.order_by("-at").values_list("at", flat=True)[:limit])
    if len(times) < limit or times[0] - times[-1] > window or times[0] + duration <= at:
        return None
    return times[0] + duration


def lockout_find(*, username: str, ip: str | None, at: dt.datetime | None = None) -> LoginLockedOut | None:
    """The lock a password login for `username` from `ip` is under at `at`, or None (the longer one if both)."""
    at = at or timezone.now()
    username = (username or "")[:USERNAME_LENGTH]
    last_login = (
        LoginRecord.objects.filter(user__username=username, at__lte=at)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    unlocked = (
        AuditEntry.objects.filter(action=UNLOCKED, details__username=username, at__lte=at)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    since = max((moment for moment in (last_login, unlocked) if moment is not None), default=None)
    locks = []
    # From one address, a few failures lock the username there; from everywhere together, many more are needed,
    # so that a stranger cannot keep a colleague locked out by typing their username five times.
    failures = AuditEntry.objects.filter(details__username=username)
    for scoped, limit in (
        (failures.filter(ip=ip) if ip else failures.filter(ip__isnull=True), settings.LOGIN_LOCKOUT_FAILURES),
        (failures, settings.LOGIN_LOCKOUT_USERNAME_FAILURES),
    ):
        until = _lock_until(scoped, limit=limit, at=at, since=since)
        if until is not None:
            locks.append(LoginLockedOut(until=until, scope="username", at=at))
    if ip:
        until = _lock_until(AuditEntry.objects.filter(ip=ip), limit=settings.LOGIN_LOCKOUT_IP_FAILURES, at=at)
        if until is not None:
            locks.append(LoginLockedOut(until=until, scope="ip", at=at))
    return max(locks, key=lambda lock: lock.until, default=None)


def _refuse(lock: LoginLockedOut, *, action: str, username: str, ip, user_agent: str, at) -> LoginLockedOut:
    audit_record(
        actor=None,
        action=action,
        ip=ip,
        at=at,
        username=(username or "")[:USERNAME_LENGTH],
        scope=lock.scope,
        until=lock.until.isoformat(),
        device=(user_agent or "")[:255],
    )
    return lock


def login_lockout_check(*, username: str, ip: str | None, user_agent: str = "", at: dt.datetime | None = None):
    """Before the password is checked: raise LoginLockedOut (audited `login.locked_out`) while locked."""
    at = at or timezone.now()
    lock = lockout_find(username=username, ip=ip, at=at)
    if lock is not None:
        raise _refuse(lock, action="login.locked_out", username=username, ip=ip, user_agent=user_agent, at=at)


def login_lockout_start(*, username: str, ip: str | None, user_agent: str = "", at: dt.datetime | None = None):
    """After a failed password (already audited): raise LoginLockedOut (audited `login.locked`) when this failure
    reached a limit, so the person learns at once until when they must wait."""
    at = at or timezone.now()
    lock = lockout_find(username=username, ip=ip, at=at)
    if lock is not None:
        raise _refuse(lock, action="login.locked", username=username, ip=ip, user_agent=user_agent, at=at)


def login_unlock(*, username: str, by=None, at: dt.datetime | None = None) -> None:
    """End every lock of `username` now (audited `login.unlocked`): earlier failures no longer count for it."""
    at = at or timezone.now()
    audit_record(actor=by, action=UNLOCKED, at=at, username=(username or "")[:USERNAME_LENGTH])
