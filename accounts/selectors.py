"""Reads of the accounts app that services, views and the other apps share (STYLE.md: reads in selectors)."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import CabinetBlock, LoginRecord, Notification
from .validators import is_valid_iin, normalize_phone

RECENT_LOGINS = 20


def block_active(*, user, at: dt.datetime | None = None) -> CabinetBlock | None:
    """The block in force on `user`'s cabinet at `at` (the latest ending one), or None."""
    if user is None or not getattr(user, "pk", None):
        return None
    return CabinetBlock.objects.active_at(at or timezone.now()).filter(user=user).order_by("-ends_at").first()


def logins_recent(*, user, n: int = RECENT_LOGINS) -> list[LoginRecord]:
    """The user's latest logins, newest first, each with a short `device` (the cabinet's "recent logins")."""
    records = list(LoginRecord.objects.filter(user=user).order_by("-at", "-pk")[:n])
    for record in records:
        record.device = device_label(record.user_agent)
    return records


# (needle in the User-Agent, name shown); the first match wins, so the more specific come first.
_BROWSERS = (
    ("YaBrowser/", "Yandex Browser"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str) -> str:
    """ "Chrome, Android" from a User-Agent; an app or script is named by its first word; "" when unknown."""
    user_agent = user_agent or ""
    browser = next((name for needle, name in _BROWSERS if needle in user_agent), "")
    system = next((name for needle, name in _SYSTEMS if needle in user_agent), "")
    if browser or system:
        return ", ".join(part for part in (browser, system) if part)
    return user_agent.split(" ", 1)[0].split("/", 1)[0][:40]


def blocks_list() -> QuerySet[CabinetBlock]:
    """Every block, active and past, the newest first."""
    return CabinetBlock.objects.select_related("user", "created_by", "lifted_by").order_by("-starts_at", "-pk")


def parents_find(*, query: str) -> QuerySet:
    """Parents by their login phone or IIN, exactly (a parent is never listed by a partial match).

    Raises ValidationError when the query is neither a phone number nor a valid IIN.
    """
    User = get_user_model()
    compact = "".join(query.split())
    if compact.isdigit() and len(compact) == 12:
        if not is_valid_iin(compact):
            raise ValidationError(_("This IIN is not valid: its control digit does not match."), code="iin")
        return User.objects.filter(role=User.Role.PARENT, iin=compact)
    try:
        phone = normalize_phone(compact)
    except ValidationError as exc:
        raise ValidationError(
            _("Enter a phone number (+7 and 10 digits) or an IIN (12 digits)."), code="query"
        ) from exc
    return User.objects.filter(role=User.Role.PARENT, phone=phone)


def notifications_of(*, user) -> QuerySet[Notification]:
    """The user's notifications, newest first (the cabinet's list and the API's)."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")
