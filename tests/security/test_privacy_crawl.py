"""Crawl every public page and public API answer in the three languages and fail on any IIN, phone number or
name of a family seeded by the demo (issue 7, Privacy and access; DOMAIN.md, Queue: the position is public by
application number, with no name, no IIN, no phone).

Logged out, from /ru/, /kk/ and /en/, following same-site links (up to MAX_URLS), plus the registry with filters,
every protocol day page and its CSV and XLSX download, the schedule pages, the queue lookup for real application
numbers and the public API (registry, summary, protocols, a protocol day and its document, schedules, queue).
"""

import datetime as dt
import io
import json
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Child
from accounts.validators import is_valid_iin
from placement.models import Application, Group, Place, Protocol
from placement.selectors.claims import claim_refusal
from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.places import place_release

pytestmark = pytest.mark.django_db

MAX_URLS = 300
LANGUAGES = ("ru", "kk", "en")
SKIP = re.compile(r"^/(?:static|media)/|/admin/|/accounts/logout/|/i18n/")
HREF = re.compile(r"""(?:href|action)\s*=\s*["']([^"'#]+)""", re.IGNORECASE)
TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")
# A phone written any way: +7 701 000 00 01, 8 (701) 000-00-01, 87010000001, 7010000001.
PHONE_LIKE = re.compile(r"(?<![\d])\+?\d(?:[\s\-\u00a0()]*\d){9,11}(?![\d])")


@pytest.fixture
def demo(db):
    """seed_demo (parents, children, applications, places), then a little life: a release and two claims."""
    call_command("seed_demo", stdout=io.StringIO())
    now = timezone.now()
    group = Group.objects.filter(kindergarten__city__slug="temirtau").order_by("pk").first()
    place_release(group=group, count=2, at=now - dt.timedelta(days=10))
    claimed = 0
    places = list(Place.objects.open_at(now).select_related("group", "kindergarten").order_by("pk")[:200])
    for application in Application.objects.filter(status="queued", parent__phone__isnull=False).exclude(
        parent__phone=""
    ):
        for place in places:
            if (
                claimed < 2
                and claim_refusal(place=place, application=application, by=application.parent, at=now) is None
            ):
                place_claim(place=place, application=application, by=application.parent, at=now)
                places.remove(place)
                claimed += 1
                break
    run_daily(at=now)
    return claimed


class Secrets:
    """What must never appear: every seeded person's IIN, phone and name (last + first, either order)."""

    def __init__(self):
        people = list(get_user_model().objects.filter(role="parent")) + list(Child.objects.all())
        self.iins = {person.iin for person in people if person.iin}
        self.phones = set()
        for parent in get_user_model().objects.filter(role="parent"):
            for phone in (parent.phone, getattr(parent, "phone_2", "")):
                digits = re.sub(r"\D", "", phone or "")
                if len(digits) >= 10:
                    self.phones.add(digits[-10:])
        self.names = set()
        for person in people:
            if person.last_name and person.first_name:
                self.names.add(f"{person.last_name} {person.first_name}".lower())
                self.names.add(f"{person.first_name} {person.last_name}".lower())

    def found_in(self, text: str) -> list[str]:
        found = []
        for run in TWELVE_DIGITS.findall(text):
            if run in self.iins and is_valid_iin(run):
                found.append(f"IIN {run}")
        for match in PHONE_LIKE.findall(text):
            digits = re.sub(r"\D", "", match)
            if digits[-10:] in self.phones:
                found.append(f"phone {match}")
        flat = re.sub(r"\s+", " ", text).lower()
        found += [f"name {name}" for name in self.names if name in flat]
        return found


def response_text(response) -> str:
    content_type = response.get("Content-Type", "")
    if "spreadsheetml" in content_type:
        book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(
            " ".join("" if cell is None else str(cell) for cell in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    text = response.content.decode("utf-8", errors="replace")
    if "json" in content_type:
        text = json.dumps(json.loads(text), ensure_ascii=False)
    return text


def links(base: str, response) -> list[str]:
    if "text/html" not in response.get("Content-Type", ""):
        if "json" in response.get("Content-Type", ""):
            body = json.loads(response.content)
            if isinstance(body, dict) and isinstance(body.get("next"), str):
                return [urlsplit(body["next"])._replace(scheme="", netloc="").geturl()]
        return []
    found = []
    for href in HREF.findall(response.content.decode()):
        absolute = urljoin(base, href.replace("&amp;", "&"))
        parts = urlsplit(absolute)
        if parts.netloc not in ("", "testserver"):
            continue
        url = parts._replace(scheme="", netloc="", fragment="").geturl()
        if url.startswith("/") and not SKIP.search(url):
            found.append(url)
    return found


def seeds() -> list[str]:
    protocol_days = list(Protocol.objects.select_related("city").order_by("-day")[:5])
    numbers = list(Application.objects.order_by("pk").values_list("number", flat=True)[:3])
    urls = []
    for lang in LANGUAGES:
        urls += [
            f"/{lang}/",
            f"/{lang}/registry/",
            f"/{lang}/registry/?city=temirtau&birth_year=2021&language=kk",
            f"/{lang}/registry/?city=temirtau&access=general",
            f"/{lang}/registry/?city=temirtau&access=priority&group_type=general",
            f"/{lang}/protocol/",
            f"/{lang}/protocol/?city=temirtau",
            f"/{lang}/schedule/",
            f"/{lang}/schedule/temirtau/",
            f"/{lang}/schedule/temirtau/2024/",
        ]
        for protocol in protocol_days:
            day = protocol.day.isoformat()
            urls += [
                f"/{lang}/protocol/{protocol.city.slug}/{day}/",
                f"/{lang}/protocol/{protocol.city.slug}/{day}/download.csv",
                f"/{lang}/protocol/{protocol.city.slug}/{day}/download.xlsx",
            ]
        urls += [f"/{lang}/queue/?number={number}" for number in numbers]
    api = [
        "/api/v1/registry/",
        "/api/v1/registry/summary/",
        "/api/v1/registry/?city=temirtau",
        "/api/v1/protocols/?city=temirtau",
        "/api/v1/schedules/temirtau/2024/",
    ]
    for protocol in protocol_days:
        api += [
            f"/api/v1/protocols/{protocol.city.slug}/{protocol.day.isoformat()}/",
            f"/api/v1/protocols/{protocol.city.slug}/{protocol.day.isoformat()}/document/",
        ]
    api += [f"/api/v1/queue/{number}/" for number in numbers]
    return urls + api


def test_no_public_page_or_api_answer_shows_an_iin_a_phone_or_a_name(demo):
    assert demo == 2, "the crawl wants referrals in the data: the demo should allow two claims"
    secrets = Secrets()
    assert len(secrets.iins) > 20 and secrets.phones and secrets.names
    client = Client()  # logged out
    queue = deque(seeds())
    seen: set[str] = set()
    leaks: list[str] = []
    statuses: dict[str, int] = {}
    while queue and len(seen) < MAX_URLS:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        lang = url.split("/")[1] if url.split("/")[1] in LANGUAGES else "ru"
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
        statuses[url] = response.status_code
        if response.status_code in (301, 302):
            queue.append(response["Location"])
            continue
        text = response_text(response)
        leaks += [f"{url}: {what}" for what in secrets.found_in(text)]
        queue.extend(link for link in links(url, response) if link not in seen)
    assert leaks == []
    assert not [url for url, status in statuses.items() if status >= 500]
    # The crawl reached what it should have: pages of all three languages, downloads and the API.
    assert {url.split("/")[1] for url in seen} >= {"ru", "kk", "en", "api"}
    assert any(url.endswith("download.xlsx") and statuses[url] == 200 for url in seen)
    assert any(url.startswith("/api/v1/queue/") and statuses[url] == 200 for url in seen)
    assert len(seen) >= 100


def test_the_detector_finds_what_it_looks_for(demo):
    """The crawl's detector on a page that does show personal data, so a silent crawl means something."""
    secrets = Secrets()
    parent = get_user_model().objects.filter(role="parent").exclude(phone="").order_by("pk").first()
    child = Child.objects.order_by("pk").first()
    spaced = f"{parent.phone[:2]} {parent.phone[2:5]} {parent.phone[5:8]}-{parent.phone[8:10]}-{parent.phone[10:]}"
    page = f"<td>{child.iin}</td><td>{spaced}</td><td>{child.first_name}  {child.last_name}</td>"
    found = secrets.found_in(page)
    assert any(item.startswith("IIN") for item in found)
    assert any(item.startswith("phone") for item in found)
    assert any(item.startswith("name") for item in found)
