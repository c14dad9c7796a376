"""Parents log in by phone with a one-time SMS code (issue 4; DOMAIN.md, People and security).

Rules:
- a code is 6 digits from `secrets`, stored only as an HMAC-SHA256 keyed by SECRET_KEY, valid OTP_TTL_SECONDS;
- at most OTP_MAX_ATTEMPTS wrong tries, then the code is dead even for the right digits;
- a new code supersedes every earlier unused code of that phone;
- requests are limited per phone and per IP over the last hour, counted from the codes actually sent;
- the answer to a request never depends on whether an account exists for the phone (no enumeration);
- the first successful verification of an unknown phone creates the parent's account;
- every attempt is audited with the phone masked and never the code.
"""

import datetime as dt
import hmac
import math
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from indigo.errors import DomainError, RateLimited

from ..models import OtpChallenge
from ..sms import SmsDeliveryError, mask_phone, sms_send
from ..validators import normalize_phone
from .audit import audit_record
from .sessions import login_refusal

RATE_WINDOW = dt.timedelta(hours=1)
CODE_DIGITS = 6
SMS_TEXT = _("INDIGO: your login code is %(code)s. Do not tell it to anyone.")


class OtpError(DomainError, code="otp_error", status=400):
    """A refused request or verification of an SMS code."""

    message = _("The code cannot be checked. Request a new one.")


class OtpInvalidPhone(OtpError, code="invalid_phone"):
    message = _("Enter a phone number as +7 and 10 digits.")


class OtpRateLimited(OtpError, RateLimited, code="rate_limited", status=429):
    def __init__(self, retry_after: int):
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            _("Too many code requests. Try again in %(minutes)s min.") % {"minutes": minutes}, retry_after=retry_after
        )


class OtpUnauthorized(OtpError, status=401):
    """A code that logs nobody in (HTTP 401, with the API's authentication scheme)."""

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Token realm="api"'}


class OtpInvalidCode(OtpUnauthorized, code="invalid_code"):
    message = _("The code is wrong. Check the SMS and try again.")

    def __init__(self, message=None, *, tries_left: int | None = None):
        super().__init__(message)
        self.tries_left = tries_left  # wrong codes still allowed before this code is dead


class OtpExpired(OtpUnauthorized, code="expired"):
    message = _("The code has expired or has already been used. Request a new one.")


class OtpTooManyAttempts(OtpUnauthorized, code="too_many_attempts"):
    message = _("Too many wrong codes. Request a new one.")


class OtpSmsFailed(OtpError, code="sms_failed", status=503):
    message = _("The SMS could not be sent. Try again in a few minutes.")


class LoginRefused(OtpError, code="login_refused", status=403):
    message = _("You cannot log in to this account.")


class PasswordLoginRequired(OtpError, code="password_required", status=403):
    message = _("Kindergarten staff and department admins log in with a password.")


@dataclass(frozen=True)
class OtpRequested:
    phone: str  # normalised
    expires_at: dt.datetime


def _phone(value: str) -> str:
    try:
        return normalize_phone(value)
    except ValidationError as exc:
        raise OtpInvalidPhone(exc.messages[0]) from exc


def _code_hash(phone: str, code: str) -> str:
    return salted_hmac("accounts.otp", f"{phone}:{code}", algorithm="sha256").hexdigest()


def _retry_after(challenges, *, at: dt.datetime, limit: int) -> int | None:
    """Seconds until one more request fits the window, or None when it fits now."""
    if limit <= 0:
        return int(RATE_WINDOW.total_seconds())
    times = list(
        challenges.filter(created_at__gt=at - RATE_WINDOW)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(times) < limit:
        return None
    return max(1, math.ceil((times[-1] + RATE_WINDOW - at).total_seconds()))


def otp_request(*, phone: str, ip: str | None, at: dt.datetime | None = None) -> OtpRequested:
    """Send a new login code to the phone, superseding earlier ones; refused over the hourly limits.

    Raises OtpInvalidPhone, OtpRateLimited (with retry_after seconds) or OtpSmsFailed.
    """
    at = at or timezone.now()
    phone = _phone(phone)
    masked = mask_phone(phone)
    waits = [
        _retry_after(OtpChallenge.objects.filter(phone=phone), at=at, limit=settings.OTP_REQUESTS_PER_PHONE_PER_HOUR)
    ]
    if ip:
        waits.append(
            _retry_after(OtpChallenge.objects.filter(ip=ip), at=at, limit=settings.OTP_REQUESTS_PER_IP_PER_HOUR)
        )
    waits = [wait for wait in waits if wait is not None]
    if waits:
        audit_record(actor=None, action="otp.rate_limited", ip=ip, at=at, phone=masked)
        raise OtpRateLimited(retry_after=max(waits))

    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    expires_at = at + dt.timedelta(seconds=settings.OTP_TTL_SECONDS)
    with transaction.atomic():
        OtpChallenge.objects.filter(phone=phone, consumed_at__isnull=True, expires_at__gt=at).update(expires_at=at)
        challenge = OtpChallenge.objects.create(
            phone=phone, code_hash=_code_hash(phone, code), created_at=at, expires_at=expires_at, ip=ip
        )
        audit_record(actor=None, action="otp.request", target=challenge, ip=ip, at=at, phone=masked)
    # Sent after the commit: a slow gateway must not hold a transaction open. A failed send still counts
    # towards the limits, which is what protects the gateway from a loop of retries.
    try:
        sms_send(phone=phone, text=str(SMS_TEXT % {"code": code}))
    except SmsDeliveryError as exc:
        audit_record(actor=None, action="otp.sms_failed", target=challenge, ip=ip, at=at, phone=masked)
        raise OtpSmsFailed() from exc
    return OtpRequested(phone=phone, expires_at=expires_at)


@dataclass(frozen=True)
class _Verification:
    """One verification as the audit log keeps it, refused or not: the masked phone and the device, never the
    code."""

    challenge: OtpChallenge | None
    phone: str
    ip: str | None
    at: dt.datetime
    user_agent: str

    def audit(self, action: str, *, user=None, **details) -> None:
        audit_record(
            actor=user,
            action=action,
            target=self.challenge,
            ip=self.ip,
            at=self.at,
            phone=mask_phone(self.phone),
            device=self.user_agent,
            **details,
        )

    def refused(self, error: OtpError, *, user=None) -> OtpError:
        self.audit("otp.verify_failed", user=user, reason=error.code)
        return error


def _parent_for(phone: str):
    User = get_user_model()
    user = User.objects.filter(phone=phone).first()
    if user is not None:
        return user, False
    user = User(username=phone, phone=phone, role=User.Role.PARENT)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # The same phone verified a newer code at the same instant and its account was created first.
        return User.objects.get(phone=phone), False
    return user, True


def otp_verify(*, phone: str, code: str, ip: str | None, user_agent: str = "", at: dt.datetime | None = None):
    """Check a code against the phone's latest challenge and return the user it logs in (creating a parent).

    Raises OtpInvalidPhone, OtpInvalidCode, OtpExpired, OtpTooManyAttempts, PasswordLoginRequired
    or LoginRefused. Wrong tries are counted atomically; a right code is consumed by a conditional update, so two
    concurrent verifications of one code cannot both succeed.
    """
    at = at or timezone.now()
    phone = _phone(phone)
    user_agent = (user_agent or "")[:255]
    code = "".join(str(code or "").split())
    challenge = OtpChallenge.objects.filter(phone=phone).order_by("-created_at", "-pk").first()
    verification = _Verification(challenge=challenge, phone=phone, ip=ip, at=at, user_agent=user_agent)
    max_attempts = settings.OTP_MAX_ATTEMPTS
    if challenge is None or challenge.consumed_at is not None or challenge.expires_at <= at:
        raise verification.refused(OtpExpired())
    if challenge.attempts >= max_attempts:
        raise verification.refused(OtpTooManyAttempts())

    if not hmac.compare_digest(challenge.code_hash, _code_hash(phone, code)):
        counted = OtpChallenge.objects.filter(pk=challenge.pk, attempts__lt=max_attempts, consumed_at__isnull=True)
        if not counted.update(attempts=F("attempts") + 1):
            raise verification.refused(OtpTooManyAttempts())
        challenge.refresh_from_db(fields=["attempts"])
        tries_left = max_attempts - challenge.attempts
        error = OtpTooManyAttempts() if tries_left <= 0 else OtpInvalidCode(tries_left=tries_left)
        raise verification.refused(error)

    user, created, error = None, False, None
    with transaction.atomic():
        consumed = OtpChallenge.objects.filter(
            pk=challenge.pk, consumed_at__isnull=True, attempts__lt=max_attempts, expires_at__gt=at
        ).update(consumed_at=at)
        if not consumed:
            error = OtpExpired()
        else:
            user, created = _parent_for(phone)
            if not user.is_parent:
                error = PasswordLoginRequired()
            elif refusal := login_refusal(user):
                error = LoginRefused(refusal)
    if error is not None:
        raise verification.refused(error, user=user)
    verification.audit("otp.verify_ok", user=user, new_account=created)
    return user
