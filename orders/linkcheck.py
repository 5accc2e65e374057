"""Fetching a customer's link to see whether it works (R-ORD-15), safely.

A customer's link is untrusted input: fetching it from inside our network could reach
the metadata service, the database or an admin page (SSRF). So every hop, redirects
included, resolves the name first and refuses unless every address is public (not
private, loopback, link-local, multicast, reserved or unspecified, also when written as
an IPv4-mapped IPv6 address); the connection then goes to the address that was checked,
so a second DNS answer cannot swap it (DNS rebinding). ``ORDERS_LINK_CHECK_ALLOWED_NETWORKS``
lets the tests reach their own server on 127.0.0.1 and nothing else.

Only a definite answer makes a link *broken*: 404 or 410. Anything else (DNS failure,
timeout, 5xx, login walls) is not proof, and the order goes on.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings

MAX_REDIRECTS = 3
BROKEN_STATUSES = {404, 410}
USER_AGENT = "Mozilla/5.0 (compatible; smmpanel-link-check/1)"


@dataclass(frozen=True)
class LinkVerdict:
    broken: bool
    detail: str
    refused: bool = False  # not fetched: the address is not public


class UnsafeAddress(Exception):  # noqa: N818 - named for the domain
    pass


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(net, strict=False)
        for net in settings.ORDERS_LINK_CHECK_ALLOWED_NETWORKS
    ]


def address_is_public(address: str) -> bool:
    """Whether a link may be fetched from ``address``: a public unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip in net for net in _allowed_networks() if net.version == ip.version):
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve_public(host: str, port: int) -> str:
    """The first address of ``host``; ``UnsafeAddress`` if any of its addresses is not public."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise socket.gaierror(f"no address for {host}")
    for address in addresses:
        if not address_is_public(address):
            raise UnsafeAddress(f"{host} resolves to {address}, not a public address")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a checked address while sending the link's own Host header."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _fetch_status(url: str, timeout: float) -> tuple[int, str]:
    """(HTTP status, Location) of one GET to ``url`` on a checked address; the body is not read."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_public(host, port)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    conn = connection_class(host, port, address=address, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        response = conn.getresponse()
        return response.status, response.getheader("Location") or ""
    finally:
        conn.close()


def link_check(link: str, *, timeout: float | None = None) -> LinkVerdict:
    """Fetch ``link`` (following up to 3 redirects) and say whether it is certainly broken."""
    timeout = timeout if timeout is not None else settings.ORDERS_LINK_CHECK_TIMEOUT
    url = link
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return LinkVerdict(broken=False, detail="not a web address")
        try:
            status, location = _fetch_status(url, timeout)
        except UnsafeAddress as exc:
            return LinkVerdict(broken=False, detail=str(exc), refused=True)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return LinkVerdict(broken=False, detail=f"could not check: {exc.__class__.__name__}")
        if status in BROKEN_STATUSES:
            return LinkVerdict(broken=True, detail=f"HTTP {status}")
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        return LinkVerdict(broken=False, detail=f"HTTP {status}")
    return LinkVerdict(broken=False, detail="too many redirects")
