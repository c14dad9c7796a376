"""The client's address behind our own proxies (indigo.http.request_ip)."""

import pytest
from django.test import RequestFactory

from indigo.http import request_ip


def ip(remote: str, forwarded: str | None = None) -> str | None:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return request_ip(RequestFactory().get("/", **meta))


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.INDIGO_TRUSTED_PROXIES = []
    assert ip("203.0.113.7", "198.51.100.1") == "203.0.113.7"


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),  # one proxy in front
        ("10.0.0.5", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client forged a first entry: never believed
        ("10.0.0.5", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # two of our proxies in a row
        ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
        ("10.0.0.5", None, "10.0.0.5"),  # a proxy that sends no header: its own address
        ("10.0.0.5", "10.0.0.7", "10.0.0.5"),  # only our proxies in the chain
        ("10.0.0.5", "198.51.100.1, not-an-address", "10.0.0.5"),  # garbage: not a guess
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not from our proxy: the header is the client's own
    ],
)
def test_behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client(settings, remote, forwarded, client):
    settings.INDIGO_TRUSTED_PROXIES = ["10.0.0.0/24", "::1"]
    assert ip(remote, forwarded) == client
