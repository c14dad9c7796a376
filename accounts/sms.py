"""Sending SMS: one function, `sms_send`, and pluggable backends chosen by the SMS_BACKEND setting.

- ConsoleBackend (the embedded default) prints the message, so that the one-time code is visible in a demo;
- FileBackend appends a line to SMS_FILE_PATH;
- LocmemBackend keeps messages in `outbox` (tests);
- HttpGatewayBackend posts JSON to the operator's gateway (production; see docs/SMS.md).

Phones are masked in everything written to logs: only the message itself carries the full number.
"""

import json
import logging
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


# LocmemBackend's messages, oldest first. Tests read codes from here and may clear it.
outbox: list[SmsMessage] = []


class SmsDeliveryError(Exception):
    """The message could not be handed to the operator (network error, refusal, timeout)."""


def mask_phone(phone: str) -> str:
    """+77011235678 -> +7701***5678: enough to tell numbers apart in logs, not enough to call one."""
    phone = str(phone or "")
    if len(phone) < 9:
        return "***"
    return f"{phone[:5]}***{phone[-4:]}"


def phone_display(phone: str) -> str:
    """+77011234567 -> +7 701 123 45 67, as people read and dial it."""
    return f"{phone[:2]} {phone[2:5]} {phone[5:8]} {phone[8:10]} {phone[10:]}" if len(phone) == 12 else phone


class BaseBackend:
    def send(self, *, phone: str, text: str) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Prints the message on the server's console (the code must be visible for the demo)."""

    def send(self, *, phone: str, text: str) -> None:
        sys.stdout.write(f"SMS to {mask_phone(phone)}: {text}\n")
        sys.stdout.flush()


class FileBackend(BaseBackend):
    """Appends one line per message to SMS_FILE_PATH: `<UTC time>\t<phone>\t<text>` (a local outbox)."""

    _lock = threading.Lock()

    def send(self, *, phone: str, text: str) -> None:
        line = f"{timezone.now().isoformat()}\t{phone}\t{text}\n"
        with self._lock, open(settings.SMS_FILE_PATH, "a", encoding="utf-8") as handle:
            handle.write(line)


class LocmemBackend(BaseBackend):
    def send(self, *, phone: str, text: str) -> None:
        outbox.append(SmsMessage(phone=phone, text=text))


class HttpGatewayBackend(BaseBackend):
    """POST {"to", "text", "sender"} as JSON to SMS_GATEWAY_URL with `Authorization: Bearer SMS_GATEWAY_TOKEN`.

    Any answer other than 2xx, and any network error or timeout, is logged (phone masked) and raised as
    SmsDeliveryError. The token and the text (which carries the code) are never logged.
    """

    def send(self, *, phone: str, text: str) -> None:
        url = settings.SMS_GATEWAY_URL
        if not url.startswith(("https://", "http://")):
            logger.error("SMS to %s not sent: SMS_GATEWAY_URL is not an http(s) URL", mask_phone(phone))
            raise SmsDeliveryError("SMS_GATEWAY_URL is not an http(s) URL")
        body = json.dumps({"to": phone, "text": text, "sender": settings.SMS_GATEWAY_SENDER}).encode()
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_GATEWAY_TIMEOUT) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            logger.error("SMS gateway refused the message to %s: HTTP %s", mask_phone(phone), exc.code)
            raise SmsDeliveryError(f"the gateway answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            logger.error("SMS gateway unreachable for the message to %s: %s", mask_phone(phone), exc)
            raise SmsDeliveryError(f"the gateway is unreachable: {exc}") from exc
        if not 200 <= status < 300:
            logger.error("SMS gateway refused the message to %s: HTTP %s", mask_phone(phone), status)
            raise SmsDeliveryError(f"the gateway answered HTTP {status}")
        logger.info("SMS to %s handed to the gateway", mask_phone(phone))


@lru_cache(maxsize=8)
def _backend_class(path: str) -> type[BaseBackend]:
    return import_string(path)


def sms_send(*, phone: str, text: str) -> None:
    """Send one SMS through the configured backend; raises SmsDeliveryError when it cannot be delivered."""
    _backend_class(settings.SMS_BACKEND)().send(phone=phone, text=text)
