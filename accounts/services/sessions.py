"""Logins and sessions (issue 4; DOMAIN.md, People and security).

- Every successful login, by SMS code or by password, web or API, leaves a LoginRecord (time, method, IP,
  device, session key) that the parent's cabinet shows, so a parent sees whether someone else used it.
- One active session per parent: a parent's login ends every other session of theirs, web and API alike. The
  web sessions ended are those whose keys the LoginRecords remember; the API session is the DRF token, which is
  deleted (an API login then issues a fresh token). Staff and admins may keep several sessions.
- `login_refusal(user)` is the one place that says whether a user may log in at all; every login path asks it.
"""

import datetime as dt
import functools
import ipaddress
from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from ..models import LoginRecord
from ..selectors import block_active
from .audit import audit_record

USER_AGENT_LENGTH = 255
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


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _is_proxy(address, networks) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def address_in(address: str | None, networks: list[str] | tuple[str, ...]) -> bool:
    """Whether `address` (an IP address as text) is in one of `networks` (addresses or CIDR networks)."""
    if not address:
        return False
    try:
        return _is_proxy(ipaddress.ip_address(address), _networks(tuple(networks)))
    except ValueError:
        return False


def request_ip(request) -> str | None:
    """The client's address, for the per-IP limits and the audit log.

    `REMOTE_ADDR`, unless it is one of `INDIGO_TRUSTED_PROXIES` (addresses or networks of our own reverse proxies
    and load balancers): then the nearest address in `X-Forwarded-For` that is not one of them, read from the
    right, since each proxy appends the address it received the request from. The leftmost entries are whatever
    the client sent and are never believed, so a forged header cannot escape a limit.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    networks = _networks(tuple(settings.INDIGO_TRUSTED_PROXIES))
    if not remote or not networks:
        return remote
    try:
        if not _is_proxy(ipaddress.ip_address(remote), networks):
            return remote
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for hop in reversed([part for part in forwarded if part]):
            address = ipaddress.ip_address(hop)
            if not _is_proxy(address, networks):
                return str(address)
    except ValueError:  # a malformed address in the chain: count the request against our proxy, not a guess
        return remote
    return remote


def request_user_agent(request) -> str:
    return (request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_LENGTH]


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
    return Token.objects.create(user=user).key
