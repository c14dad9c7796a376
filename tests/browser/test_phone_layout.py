"""A parent's phone first (issue 13): at 390 by 844 px, in Russian and Kazakh, no page of the cabinet, the registry
(anonymous and as a parent), the schedule, the protocol day or the staff scrolls sideways, and each page's key fact
(queue position and what the child may take, the take button, the general-access date, the referral deadline) lies
inside the screen; and offer mode's pages (issue 14): the offer card's deadline and buttons, the choices, the
registry's offered places, the protocol's allocation."""

import pytest

from tests.browser.conftest import assert_inside_the_viewport, assert_nothing_scrolls_sideways

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def phone_pages(world, language: str) -> list[tuple[str, str, object, list[str]]]:
    """(what, path, logged-in user, the selectors of its key facts)."""
    day = world.protocol_day.isoformat()
    return [
        ("registry, anonymous", f"/{language}/registry/", None, [".places-table td.places-count", ".general-from"]),
        ("registry, parent", f"/{language}/registry/", world.parent, ["a.button.take", ".chance-list li"]),
        ("registry, parent, every place", f"/{language}/registry/?view=all", world.parent, ["a.button.take"]),
        ("cabinet", f"/{language}/cabinet/", world.parent, ["td.position", "td.standing", ".referral-card .deadline"]),
        ("schedule", f"/{language}/schedule/temirtau/{world.schedule_year}/", None, ["td.general-date"]),
        ("protocol day", f"/{language}/protocol/temirtau/{day}/", None, [".protocol-entries td.key"]),
        ("protocol list", f"/{language}/protocol/", None, [".protocol-days th.key"]),
        ("staff: groups and release", f"/{language}/staff/", world.staff, [".groups-table th[scope=row]"]),
        ("staff: live places", f"/{language}/staff/places/", world.staff, [".place-card .badge"]),
        ("staff: referrals", f"/{language}/staff/referrals/", world.staff, ["td.deadline", "a.phone"]),
        ("staff: history", f"/{language}/staff/history/", world.staff, [".history-table th[scope=row]"]),
    ]


def offer_pages(world, language: str) -> list[tuple[str, str, object, list[str]]]:
    """Offer mode's pages (issue 14): the offer card and its deadline, the ranked choices, accept and decline, the
    registry's offered places and the protocol's allocation section."""
    offer, number, day = world.offer, world.application.number, world.offer_day.isoformat()
    return [
        ("offer: cabinet", f"/{language}/cabinet/", world.parent, [".offer-card .deadline", ".offer-card button"]),
        ("offer: choices", f"/{language}/cabinet/applications/{number}/choices/", world.parent, ["select", "button"]),
        ("offer: the offer", f"/{language}/cabinet/offers/{offer.pk}/", world.parent, [".deadline", "button"]),
        ("offer: decline", f"/{language}/cabinet/offers/{offer.pk}/decline/", world.parent, ["button.danger"]),
        ("offer: registry", f"/{language}/registry/?city=oskemen", None, [".offered-table .badge.offered"]),
        ("offer: protocol", f"/{language}/protocol/oskemen/{day}/", None, [".allocation-table td.key", ".inputs-hash"]),
    ]


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_at_390_px_nothing_scrolls_sideways_and_each_key_fact_is_on_the_screen(
    phone_world, offer_world, open_page, language
):
    for what, path, user, key_facts in phone_pages(phone_world, language) + offer_pages(offer_world, language):
        page = open_page(path, language=language, user=user)
        assert page.locator("html").get_attribute("lang") == language, what
        try:
            assert_nothing_scrolls_sideways(page)
            for selector in key_facts:
                assert_inside_the_viewport(page, selector)
        except AssertionError as failure:
            raise AssertionError(f"{what} ({path}): {failure}") from None
        page.context.close()
