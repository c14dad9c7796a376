"""The claim story the registry, confirmation, claim API and referral tests share: its moments, a situation for each
refusal reason, and reading the registry as someone (issue 5)."""

import datetime as dt
import re

from placement.models import Application
from placement.services.blocks import cabinet_block
from placement.services.claims import place_claim
from placement.services.places import place_release
from tests.clock import astana
from tests.factories import AdminFactory, CityFactory, GroupFactory, applicant
from tests.i18n import untranslated_segments, url

RELEASED = astana(2024, 5, 2, 10, 0)  # priority until Mon 2024-05-06 18:00
IN_PRIORITY = astana(2024, 5, 3, 12, 0)
IN_GENERAL = astana(2024, 5, 7, 12, 0)  # a referral issued now is valid until 16.05.2024 18:00

REFUSAL_CODES = [
    "blocked",
    "not_confirmed",
    "not_in_queue",
    "has_live_referral",
    "city_mismatch",
    "cohort_mismatch",
    "language_mismatch",
    "group_type_mismatch",
    "not_head_of_queue",
]


def refusal_situation(code, city, group):
    """A parent, one of their applications and a place for which claim_refusal answers `code`."""
    [place] = place_release(group=group, count=1, at=RELEASED)
    moment = IN_GENERAL
    kwargs = {}
    if code == "cohort_mismatch":
        kwargs["birth_date"] = dt.date(2020, 5, 5)
    elif code == "language_mismatch":
        kwargs["language"] = "ru"
    elif code == "group_type_mismatch":
        kwargs["group_type"] = "special"
    elif code == "not_confirmed":
        kwargs["representation"] = "pending"
    parent, application = applicant(CityFactory() if code == "city_mismatch" else city, 5, **kwargs)
    if code == "not_head_of_queue":
        applicant(city, 0)
        moment = IN_PRIORITY
    elif code == "blocked":
        cabinet_block(user=parent, by=AdminFactory(), reason="Доступ передан третьим лицам", at=RELEASED)
    elif code == "not_in_queue":
        Application.objects.filter(pk=application.pk).update(status=Application.Status.HELD)
    elif code == "has_live_referral":
        other_group = GroupFactory(kindergarten__city=city, birth_year=2021, language="kk", group_type="general")
        [other] = place_release(group=other_group, count=1, at=RELEASED)
        place_claim(place=other, application=application, by=parent, at=IN_GENERAL)
    application.refresh_from_db()
    return parent, application, place, moment


def registry(client, city, language="ru"):
    """The registry page of `city` as `client` sees it."""
    return client.get(url("registry", language, query=f"city={city.slug}"))


def claim_url(place_id) -> str:
    return f"/api/v1/places/{place_id}/claim/"


def interface_in_english(page_html: str, english_html: str, *data: str) -> list[str]:
    """Untranslated segments, leaving out data that reads the same in every language: codes, numbers, names."""
    codes = re.compile(r"^\(?[A-Z0-9]+(-[A-Z0-9]+)+\)?:?$|^№")
    return [
        s
        for s in untranslated_segments(page_html, english_html)
        if not codes.search(s) and not any(d and d in s for d in data)
    ]
