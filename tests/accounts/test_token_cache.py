"""API tokens are looked up in the cache, and a revoked token stops working at once (issue 15)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.services.sessions import api_token_issue
from tests.factories import ParentFactory

pytestmark = pytest.mark.django_db(transaction=True)  # revocations act on commit

ME = "/api/v1/me/"


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_known_token_is_read_from_the_cache_without_a_query_for_the_user():
    parent = ParentFactory()
    token = api_token_issue(user=parent, ip=None)
    client = client_with(token)
    assert client.get(ME).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ME)
    assert response.status_code == 200
    assert not [q for q in queries.captured_queries if "authtoken_token" in q["sql"]]
    # The profile's personal fields are not cached: they are read from the database when the view asks.
    assert response.json()["phone"] == parent.phone


def test_a_logout_revokes_the_cached_token_at_once():
    token = api_token_issue(user=ParentFactory(), ip=None)
    client = client_with(token)
    assert client.get(ME).status_code == 200
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get(ME).status_code == 401


def test_a_new_login_ends_the_cached_token_of_the_previous_one():
    parent = ParentFactory()
    old = api_token_issue(user=parent, ip=None)
    assert client_with(old).get(ME).status_code == 200
    new = api_token_issue(user=parent, ip=None)
    assert client_with(old).get(ME).status_code == 401
    assert client_with(new).get(ME).status_code == 200


def test_a_deactivated_user_is_refused_at_once_even_with_a_cached_token():
    parent = ParentFactory()
    token = api_token_issue(user=parent, ip=None)
    assert client_with(token).get(ME).status_code == 200
    parent.is_active = False
    parent.save()
    assert Token.objects.filter(user=parent).exists()
    assert client_with(token).get(ME).status_code == 401
