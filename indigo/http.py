"""What the portal reads of an HTTP request wherever it runs: the client's address behind our own proxies, and its
User-Agent (for the per-IP limits, the audit log and the login records)."""

import functools
import ipaddress

from django.conf import settings

USER_AGENT_LENGTH = 255


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _is_proxy(address, networks) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def address_in(address: str | None, networks: list[str] | tuple[str, ...]) -> bool:
    """Whether `address` (an IP address as text) is in one of `networks` (addresses or CIDR networks)."""
    if not address:
        return False
    try:
        return _is_proxy(ipaddress.ip_address(address), _networks(tuple(networks)))
    except ValueError:
        return False


def request_ip(request) -> str | None:
    """The client's address, for the per-IP limits and the audit log.

    `REMOTE_ADDR`, unless it is one of `INDIGO_TRUSTED_PROXIES` (addresses or networks of our own reverse proxies
    and load balancers): then the nearest address in `X-Forwarded-For` that is not one of them, read from the
    right, since each proxy appends the address it received the request from. The leftmost entries are whatever
    the client sent and are never believed, so a forged header cannot escape a limit.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    networks = _networks(tuple(settings.INDIGO_TRUSTED_PROXIES))
    if not remote or not networks:
        return remote
    try:
        if not _is_proxy(ipaddress.ip_address(remote), networks):
            return remote
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for hop in reversed([part for part in forwarded if part]):
            address = ipaddress.ip_address(hop)
            if not _is_proxy(address, networks):
                return str(address)
    except ValueError:  # a malformed address in the chain: count the request against our proxy, not a guess
        return remote
    return remote


def request_user_agent(request) -> str:
    return (request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_LENGTH]
