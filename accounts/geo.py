"""Who is asking, from where: the client's IP and its country (R-AUP-3, R-PRV-1).

``client_ip`` trusts ``X-Forwarded-For`` only when the connection comes from one of the
``TRUSTED_PROXIES`` (addresses or networks): then the client is the right-most address of
the header that is not itself a trusted proxy. Anyone else's header is ignored, so nobody
can choose their own country by sending one.

``ip_country`` is the one place that maps an IP to a country: the offline database shipped
inside the ``geoip2fast`` package (no network, no account).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=32)
def _networks(proxies: tuple[str, ...]):
    return [ipaddress.ip_network(proxy, strict=False) for proxy in proxies]


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's IP address (see the module's docstring), or None."""
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "")
    if remote is None or not _trusted(remote):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _valid(hop)
        if address is None:
            return remote
        if not _trusted(address):
            return address
    return remote


def ratelimit_ip(request) -> str:
    """django-ratelimit's ``ip`` key (``RATELIMIT_IP_META_KEY``): the same client IP."""
    return client_ip(request) or ""


@lru_cache(maxsize=1)
def _geo():
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(verbose=False)


def ip_country(ip: str | None) -> str:
    """The ISO 3166 alpha-2 code of ``ip``'s country, or "" when unknown or private."""
    address = _valid(ip or "")
    if address is None:
        return ""
    try:
        result = _geo().lookup(address)
    except (ValueError, LookupError):  # a gap in the data: unknown
        return ""
    code = (getattr(result, "country_code", "") or "").upper()
    return code if len(code) == 2 and code.isalpha() else ""


def request_country(request) -> str:
    return ip_country(client_ip(request))


def country_restricted(country: str) -> bool:
    """R-AUP-3: orders and sign-ups from these countries are refused."""
    return bool(country) and country.upper() in settings.RESTRICTED_COUNTRIES
