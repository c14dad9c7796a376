"""Every staff and admin endpoint, listed from the URLconf, refuses the wrong role and the wrong kindergarten and
changes nothing (issue 7, Privacy and access; DOMAIN.md, People and security).

The endpoints are not written down here: they are read from `django.urls.get_resolver()`, so a staff or admin page
or API added later is covered without touching this file. A test also fails when a URL whose name speaks of staff,
admins or blocks lives outside the prefixes below, so that it cannot slip past the matrix.
"""

import math
import re
import uuid
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern
from rest_framework.authtoken.models import Token

from placement.models import Application, Referral
from placement.models.queue import _NUMBER_ALPHABET, application_number_new
from placement.models.referrals import referral_number_new

from .conftest import row_counts, row_states

pytestmark = pytest.mark.django_db

STAFF_PREFIXES = ("<lang>/staff/", "api/v1/staff/")
ADMIN_PREFIXES = ("<lang>/admin/", "<lang>/blocks/", "api/v1/admin/")
# The admin site's own doors and the content-type redirect ("view on site") are not admin actions.
NOT_ADMIN_ACTIONS = {"admin:login", "admin:logout", "admin:view_on_site", "admin:"}
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Endpoint:
    route: str  # "<lang>/staff/places/<int:pk>/withdraw/" or "api/v1/staff/places/"
    name: str

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def is_admin_site(self) -> bool:
        return self.name.startswith("admin:")


def _walk(resolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        if isinstance(pattern, LocalePrefixPattern):
            piece = "<lang>/"
        elif isinstance(pattern, RoutePattern):
            piece = str(pattern._route)
        elif isinstance(pattern, RegexPattern):
            piece = "RE:" + pattern._regex.lstrip("^").rstrip("$")
        else:  # pragma: no cover - a new kind of pattern must be taught to this test
            raise AssertionError(f"unknown URL pattern {pattern!r}")
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from _walk(entry, prefix + piece, inner)
        elif isinstance(entry, URLPattern):
            yield Endpoint(route=prefix + piece, name=namespace + (entry.name or ""))


def all_endpoints() -> list[Endpoint]:
    return list(_walk(get_resolver()))


def staff_endpoints() -> list[Endpoint]:
    return [e for e in all_endpoints() if e.route.startswith(STAFF_PREFIXES)]


def admin_endpoints() -> list[Endpoint]:
    return [e for e in all_endpoints() if e.route.startswith(ADMIN_PREFIXES) and e.name not in NOT_ADMIN_ACTIONS]


def concrete(endpoint: Endpoint, values: dict[str, str], lang: str = "ru") -> str:
    """The endpoint's path with its parameters filled from `values` (by parameter name, then by converter)."""
    route = endpoint.route.replace("<lang>", lang)
    # The admin's regular expressions: a named group becomes its value ("(?P<app_label>auth|...)" -> "placement").
    route = re.sub(r"RE:\(\?P<(\w+)>[^)]*\)", lambda match: values.get(match.group(1), "x"), route)

    def fill(match: re.Match) -> str:
        converter, name = match.group(1) or "str", match.group(2)
        if name in values:
            return str(values[name])
        return {"int": "1", "path": "1", "slug": "x", "str": "x"}.get(converter.rstrip(":"), "1")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


def test_the_matrix_sees_the_staff_and_admin_endpoints():
    names = {e.name for e in staff_endpoints()}
    assert {"placement:staff-release", "placement:staff-withdraw", "api-staff-places", "api-staff-referral-enrol"} <= (
        names
    )
    admin_names = {e.name for e in admin_endpoints()}
    assert {"placement:blocks", "placement:block-new", "placement:block-lift", "admin:index"} <= admin_names
    assert any(name.endswith("_change") for name in admin_names)


def test_no_staff_or_admin_endpoint_hides_outside_the_prefixes_the_matrix_walks():
    stray = [
        e
        for e in all_endpoints()
        if re.search(r"staff|admin|block", e.name)
        and not e.route.startswith(STAFF_PREFIXES + ADMIN_PREFIXES)
        and e.name not in NOT_ADMIN_ACTIONS
    ]
    assert stray == []


# --- The requests ------------------------------------------------------------------------------------------


def payload(world) -> dict[str, str]:
    """Everything a staff or admin form might read, aimed at the objects of "our" kindergarten."""
    ours = world.ours
    return {
        "group": str(ours.group.pk),
        "count": "1",
        "token": uuid.uuid4().hex,
        "reason": "проверка доступа",
        "user": str(ours.parent.pk),
        "confirm": "1",
    }


def path_values(world) -> dict[str, str]:
    ours = world.ours
    return {
        "pk": str(ours.free_place.pk),
        "number": ours.referral.number,
        "object_id": str(ours.parent.pk),
        "app_label": "placement",
    }


def block_lift_pk(endpoint: Endpoint, world) -> dict[str, str]:
    return {"pk": str(world.block.pk)} if endpoint.name == "placement:block-lift" else {}


def send(client: Client, method: str, url: str, data: dict, api: bool):
    if method == "get":
        return client.get(url)
    if api:
        return getattr(client, method)(url, data=data, content_type="application/json")
    if method == "post":
        return client.post(url, data=data)
    return getattr(client, method)(url)


def api_client(token: str | None) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token}") if token else Client()


def assert_refused(response, *, endpoint: Endpoint, method: str, who: str, allowed: set[int]):
    request = f"{method.upper()} {endpoint.route} as {who}"
    assert response.status_code in allowed, f"{request}: {response.status_code}, expected one of {sorted(allowed)}"


def run_matrix(world, endpoints, clients, *, allowed_for):
    """Every endpoint x method x client; the refused requests leave the rows exactly as they were."""
    before, states = row_counts(), row_states()
    failures = []
    for endpoint in endpoints:
        values = {**path_values(world), **block_lift_pk(endpoint, world)}
        url = concrete(endpoint, values)
        for who, client in clients.items():
            allowed = allowed_for(endpoint, who)
            for method in METHODS:
                response = send(client, method, url, payload(world), endpoint.is_api)
                if response.status_code not in allowed:
                    failures.append(f"{method.upper()} {url} as {who}: {response.status_code}")
                    continue
                if response.status_code == 302 and not endpoint.is_api:
                    assert "login" in response["Location"], f"{method.upper()} {url} as {who}: {response['Location']}"
    assert failures == []
    assert row_counts() == before
    assert row_states() == states


REFUSED_PAGE = {403, 405}
REFUSED_API = {403, 405}
ANONYMOUS_PAGE = {302, 405}
ANONYMOUS_API = {401, 405}
# The admin site sends a logged-in user without admin rights to its own login page ("you are not authorised").
ADMIN_SITE_REFUSAL = {302}


def test_a_parent_and_anonymous_visitors_are_refused_by_every_staff_endpoint(world, client):
    parent_page = Client()
    parent_page.force_login(world.ours.parent)
    clients = {"anonymous": Client(), "parent (session)": parent_page}
    # A parent has one session at a time: a login ends the others, API tokens included; take a fresh one.
    token, _ = Token.objects.get_or_create(user=world.ours.parent)
    api_clients = {"anonymous": Client(), "parent (token)": api_client(token.key)}

    def allowed_for(endpoint, who):
        if who == "anonymous":
            return ANONYMOUS_API if endpoint.is_api else ANONYMOUS_PAGE
        return REFUSED_API if endpoint.is_api else REFUSED_PAGE

    pages = [e for e in staff_endpoints() if not e.is_api]
    apis = [e for e in staff_endpoints() if e.is_api]
    run_matrix(world, pages, clients, allowed_for=allowed_for)
    run_matrix(world, apis, api_clients, allowed_for=allowed_for)


def test_staff_of_another_kindergarten_cannot_act_on_our_objects(world):
    """Their staff, aimed at our place, our referral, our group (and at our kindergarten by `?kindergarten=`):
    every write is refused; the object endpoints answer 403 (404 would also hide nothing, but 403 is the rule)."""
    theirs_page = Client()
    theirs_page.force_login(world.theirs.staff)
    theirs_api = api_client(world.theirs.token)
    object_endpoints = [e for e in staff_endpoints() if "<" in e.route.replace("<lang>", "")]
    assert object_endpoints

    def allowed_for(endpoint, who):
        return REFUSED_API if endpoint.is_api else REFUSED_PAGE

    run_matrix(
        world,
        [e for e in object_endpoints if not e.is_api],
        {"their staff (session)": theirs_page},
        allowed_for=allowed_for,
    )
    run_matrix(
        world, [e for e in object_endpoints if e.is_api], {"their staff (token)": theirs_api}, allowed_for=allowed_for
    )


def test_staff_of_another_kindergarten_cannot_release_into_our_group_or_pick_our_kindergarten(world):
    theirs = Client()
    theirs.force_login(world.theirs.staff)
    theirs_api = api_client(world.theirs.token)
    before, states = row_counts(), row_states()
    ours = world.ours.kindergarten.pk
    for endpoint in staff_endpoints():
        url = concrete(endpoint, path_values(world))
        client = theirs_api if endpoint.is_api else theirs
        # Our group in the body of a release.
        response = send(client, "post", url, payload(world), endpoint.is_api)
        assert response.status_code in {400, 403, 404, 405}, f"POST {url}: {response.status_code}"
        # Our kindergarten picked in the query string.
        for method in ("get", "post"):
            response = send(client, method, f"{url}?kindergarten={ours}", payload(world), endpoint.is_api)
            assert response.status_code in {403, 405} or (endpoint.is_api and response.status_code in {400, 404}), (
                f"{method.upper()} {url}?kindergarten={ours}: {response.status_code}"
            )
    assert row_counts() == before
    assert row_states() == states


def test_staff_lists_show_nothing_of_another_kindergarten(world):
    theirs = Client()
    theirs.force_login(world.theirs.staff)
    theirs_api = api_client(world.theirs.token)
    ours = world.ours
    secrets_of_ours = [ours.referral.number, ours.contract.referral.number, ours.referral.child.iin]
    for endpoint in staff_endpoints():
        if "<" in endpoint.route.replace("<lang>", ""):
            continue
        client = theirs_api if endpoint.is_api else theirs
        response = client.get(concrete(endpoint, {}))
        if response.status_code == 405:  # a form that only posts
            continue
        assert response.status_code == 200, endpoint.route
        body = response.content.decode()
        leaked = [value for value in secrets_of_ours if value in body]
        assert leaked == [], f"{endpoint.route} shows {leaked}"


def test_staff_and_parents_are_refused_by_every_admin_endpoint(world):
    clients = {}
    for who, user in (
        ("our staff", world.ours.staff),
        ("their staff", world.theirs.staff),
        ("parent", world.ours.parent),
    ):
        client = Client()
        client.force_login(user)
        clients[who] = client
    clients["anonymous"] = Client()

    def allowed_for(endpoint, who):
        if endpoint.is_admin_site:
            return ADMIN_SITE_REFUSAL
        if endpoint.is_api:
            return ANONYMOUS_API if who == "anonymous" else REFUSED_API
        return ANONYMOUS_PAGE if who == "anonymous" else REFUSED_PAGE

    run_matrix(world, admin_endpoints(), clients, allowed_for=allowed_for)


def test_a_department_admin_is_let_in_where_staff_are_refused(world):
    """The matrix's refusals come from the role, not from a broken page: the admin reaches the same pages."""
    client = Client()
    client.force_login(world.admin)
    for name in ("placement:blocks", "admin:index"):
        [endpoint] = [e for e in admin_endpoints() if e.name == name]
        assert client.get(concrete(endpoint, {})).status_code == 200, name


# --- Numbers that name people are not guessable --------------------------------------------------------------


def entropy_bits(number: str) -> float:
    symbols = [c for c in number if c in _NUMBER_ALPHABET]
    return len(symbols) * math.log2(len(_NUMBER_ALPHABET))


@pytest.mark.parametrize("new_number", [application_number_new, referral_number_new])
def test_application_and_referral_numbers_carry_at_least_50_random_bits(new_number):
    numbers = {new_number() for _ in range(2000)}
    assert len(numbers) == 2000
    assert all(entropy_bits(number) >= 50 for number in numbers)
    # No position is fixed: every symbol position takes many values over 2000 draws.
    raw = [re.sub(r"[^0-9A-Z]", "", number.removeprefix("R-")) for number in numbers]
    for position in range(len(raw[0])):
        assert len({value[position] for value in raw}) > len(_NUMBER_ALPHABET) // 2


def test_the_numbers_people_use_are_the_random_ones_not_database_ids(world):
    application = world.ours.application
    referral = world.ours.referral
    assert entropy_bits(Application.objects.get(pk=application.pk).number) >= 50
    assert entropy_bits(Referral.objects.get(pk=referral.pk).number) >= 50
    # URL parameters that reveal people are numbers, never primary keys.
    for endpoint in all_endpoints():
        if any(word in endpoint.route for word in ("referrals/<", "applications/<", "queue/<")):
            assert "<str:number>" in endpoint.route, endpoint.route
