"""Logins and sessions (issue 4; DOMAIN.md, People and security).

- Every successful login, by SMS code or by password, web or API, leaves a LoginRecord (time, method, IP,
  device, session key) that the parent's cabinet shows, so a parent sees whether someone else used it.
- One active session per parent: a parent's login ends every other session of theirs, web and API alike. The
  web sessions ended are those whose keys the LoginRecords remember; the API session is the DRF token, which is
  deleted (an API login then issues a fresh token). Staff and admins may keep several sessions.
- `login_refusal(user)` is the one place that says whether a user may log in at all; every login path asks it.
"""

import datetime as dt
from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from indigo.http import USER_AGENT_LENGTH

from ..models import LoginRecord
from ..selectors import block_active
from .audit import audit_record
from .tokens import token_cache_put

# The model backend is the only one configured; naming it lets views log in a user found by the SMS code.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def login_refusal(user) -> str | None:
    """Why this user may not log in now, or None when they may.

    The seam for cabinet blocks (DOMAIN.md: a blocked user cannot log in until the block ends): the blocks issue
    adds its check here, and the SMS, password and API logins all refuse with the message returned.
    """
    if not user.is_active:
        return _("This account is disabled.")
    block = block_active(user=user)
    if block is not None:
        return _("Your cabinet is blocked until %(until)s: %(reason)s") % {
            "until": timezone.localtime(block.ends_at).strftime("%d.%m.%Y %H:%M"),
            "reason": block.reason,
        }
    return None


def session_start(*, request, user, method: str) -> None:
    """Log the user in on this web request. The `user_logged_in` receiver records the login and, for a parent,
    ends their other sessions (accounts.signals)."""
    request.login_method = method
    auth.login(request, user, backend=MODEL_BACKEND)


def sessions_end_others(*, user, keep_session_key: str = "") -> int:
    """End every web session of the user except `keep_session_key` and delete their API token.

    The sessions are found through the user's LoginRecords (a session outlives neither SESSION_COOKIE_AGE nor a
    logout, so older records are not looked at). Works with any session engine.
    """
    since = timezone.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    keys = set(
        LoginRecord.objects.filter(user=user, at__gte=since)
        .exclude(session_key="")
        .values_list("session_key", flat=True)
    )
    keys.discard(keep_session_key or "")
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()
    Token.objects.filter(user=user).delete()
    return len(keys)


def login_record(
    *,
    user,
    method: str,
    ip: str | None,
    user_agent: str = "",
    session_key: str = "",
    at: dt.datetime | None = None,
) -> LoginRecord:
    """Record a successful login and apply the one-session rule for parents."""
    at = at or timezone.now()
    if user.is_parent:
        sessions_end_others(user=user, keep_session_key=session_key)
    record = LoginRecord.objects.create(
        user=user,
        at=at,
        method=method,
        ip=ip,
        user_agent=(user_agent or "")[:USER_AGENT_LENGTH],
        session_key=session_key or "",
    )
    audit_record(actor=user, action=f"login.{method}", target=user, ip=ip, at=at, device=record.user_agent)
    return record


def api_token_issue(*, user, ip: str | None, user_agent: str = "", at: dt.datetime | None = None) -> str:
    """An API login: record it (which, for a parent, ends their web sessions and old token), then a new token."""
    login_record(user=user, method=LoginRecord.Method.OTP, ip=ip, user_agent=user_agent, at=at)
    Token.objects.filter(user=user).delete()
    key = Token.objects.create(user=user).key
    token_cache_put(key, user, issued=True)  # the first request with it reads no token from the database
    return key
