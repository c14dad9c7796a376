"""A visitor's registry page is cached whole, frame included (issue 15: the page at a fraction of a trivial view's
cost): never past the moment the frame's support hours change, and never for a reader with a session or a message."""

import pytest

from placement.services.places import place_release
from tests.clock import astana, at
from tests.placement.test_registry_cache import RELEASED, page_places
from tests.placement.test_registry_cache import _fresh_city_ids as _fresh_city_ids
from tests.placement.test_registry_cache import city as city
from tests.placement.test_registry_cache import kindergarten as kindergarten

pytestmark = pytest.mark.django_db

JUST_BEFORE_CLOSING = astana(2024, 5, 3, 17, 59)  # a Friday: support open until 18:00
JUST_AFTER_CLOSING = astana(2024, 5, 3, 18, 1)


def test_a_visitors_page_is_served_whole_from_the_cache(client, city, group, django_assert_num_queries):
    place_release(group=group, count=2, at=RELEASED)
    with at(JUST_BEFORE_CLOSING):
        first = client.get("/ru/registry/")
        with django_assert_num_queries(0):
            again = client.get("/ru/registry/")
    assert again.content == first.content and page_places(again) == 2
    assert again.templates == []  # the page itself, not its content cache inside a frame rendered again


def test_the_cached_page_ends_when_support_closes(client, city, group):
    place_release(group=group, count=1, at=RELEASED)
    with at(JUST_BEFORE_CLOSING):
        before = client.get("/ru/registry/").content.decode()
    with at(JUST_AFTER_CLOSING):
        after = client.get("/ru/registry/").content.decode()
    assert 'class="status open"' in before
    assert 'class="status closed"' in after


def test_a_reader_with_a_session_is_never_served_the_visitors_cached_page(
    client, city, group, django_assert_num_queries
):
    place_release(group=group, count=1, at=RELEASED)
    with at(JUST_BEFORE_CLOSING):
        client.get("/ru/registry/")
        client.cookies["sessionid"] = "not-a-session"
        with django_assert_num_queries(1):  # the session is looked up: the page is the visitor's content in a frame
            response = client.get("/ru/registry/")
    assert response.status_code == 200
    assert "placement/registry.html" in [template.name for template in response.templates]
