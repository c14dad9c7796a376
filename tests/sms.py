"""SMS in tests: the one-time code a message carries (accounts.sms.outbox, the `outbox` fixture), and the SMS login
as a person goes through it in a browser."""

import re

from django.urls import reverse
from django.utils import translation

from accounts import sms


def code_of(message) -> str:
    """The six-digit code an SMS carries."""
    return re.search(r"\b(\d{6})\b", message.text).group(1)


def last_code(outbox) -> str:
    """The code of the last SMS sent."""
    return code_of(outbox[-1])


def wrong(code: str) -> str:
    """Another six-digit code: never the right one."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def browser_sms_login(page, base_url: str, *, phone: str, typed: str, language: str) -> None:
    """Log in on the SMS pages in `language` as a parent on a phone does: the phone typed as `typed`, then the code
    of the SMS sent to `phone` (the live server shares the outbox); ends on the cabinet."""
    with translation.override(language):
        login, cabinet = reverse("accounts:otp-login"), reverse("placement:cabinet")
    page.goto(base_url + login)
    assert page.locator("html").get_attribute("lang") == language
    page.locator('input[name="phone"]').fill(typed)
    page.locator('form:has(input[name="phone"]) button[type="submit"]').click()
    page.wait_for_selector('input[name="code"]')
    assert f"/{language}/" in page.url
    [message] = [m for m in sms.outbox if m.phone == phone]
    page.locator('input[name="code"]').fill(code_of(message))
    page.locator('form:has(input[name="code"]) button[type="submit"]').click()
    page.wait_for_url(f"**{cabinet}")
