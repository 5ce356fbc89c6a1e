"""Which webhook URLs may be registered and which addresses may be called (SSRF policy).

Endpoint URLs are ``https``. Outside ``local`` a URL may not name, or resolve to, a loopback,
private (RFC 1918, ULA ``fc00::/7``, CGNAT, ...), link-local or otherwise non-global address.
The metadata server (``169.254.169.254``, ``metadata.google.internal``), link-local, multicast
and unspecified addresses are refused everywhere. In ``local`` only (the developer's machine and
the tests) loopback and private addresses are allowed, and plain ``http`` to a loopback host.
``sandbox`` is a deployed environment on Google Cloud like production: there a private address
would reach the project's own VPC, so it gets the production policy.

The host is resolved once per attempt; every address it resolves to is checked (one bad
answer refuses the whole destination), and the connection goes to a checked address
(:mod:`beamit.webhooks.transport`), so a DNS answer cannot change between check and use.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from beamit.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # GCP, AWS, Azure metadata servers
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class RefusedDestination(ValueError):
    """A URL or address the policy does not allow (the message says why; no secrets in it)."""


@dataclass(frozen=True)
class DestinationPolicy:
    """``allow_internal``: loopback and private addresses, and ``http`` to loopback (``local`` only)."""

    allow_internal: bool

    @classmethod
    def for_settings(cls, settings: Settings) -> DestinationPolicy:
        return cls(allow_internal=settings.is_local)


@dataclass(frozen=True)
class Destination:
    """A checked URL: where to connect (``addresses``, in resolver order) and what to send."""

    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo client)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def address_refusal(address: IPAddress, policy: DestinationPolicy) -> str | None:
    """Why ``address`` may not be called, or ``None`` if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_refusal(embedded, policy)
    if address in METADATA_ADDRESSES:
        return "the metadata server"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_loopback:
        return None if policy.allow_internal else "a loopback address"
    if address.is_private or not address.is_global:
        return None if policy.allow_internal else "a private or non-public address"
    return None


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_loopback_host(host: str) -> bool:
    literal = _literal_address(host)
    if literal is not None:
        return literal.is_loopback
    return host == "localhost" or host.endswith(".localhost")


def _check_host_name(host: str, policy: DestinationPolicy) -> None:
    if host in METADATA_HOSTS:
        raise RefusedDestination("the URL names the metadata server")
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise RefusedDestination("the URL's host is not a valid DNS name (use punycode for international names)")
    internal = host == "localhost" or host.endswith((".localhost", ".internal", ".local")) or "." not in host
    if internal and not policy.allow_internal:
        raise RefusedDestination("the URL's host is not a public DNS name")


def check_url(url: object, policy: DestinationPolicy) -> str:
    """Validate an endpoint URL (no DNS lookup); returns it unchanged, or raises :class:`RefusedDestination`."""
    if not isinstance(url, str) or not url:
        raise RefusedDestination("'url' must be a non-empty string")
    if len(url) > MAX_URL_LENGTH:
        raise RefusedDestination(f"'url' is limited to {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise RefusedDestination("'url' must be ASCII without spaces (percent-encode the rest, punycode the host)")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("https", "http"):
        raise RefusedDestination("'url' must be an https URL")
    if not host:
        raise RefusedDestination("'url' has no host")
    if parts.username is not None or parts.password is not None:
        raise RefusedDestination("'url' may not carry credentials (user:password@)")
    if parts.fragment:
        raise RefusedDestination("'url' may not have a fragment")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise RefusedDestination("'url' has an invalid port") from None
    if scheme == "http" and not (policy.allow_internal and _is_loopback_host(host)):
        raise RefusedDestination(
            "'url' must be an https URL (plain http is accepted only for loopback hosts in local development)"
        )
    literal = _literal_address(host)
    if literal is not None:
        reason = address_refusal(literal, policy)
        if reason is not None:
            raise RefusedDestination(f"'url' names {reason}")
    else:
        _check_host_name(host, policy)
    return url


def system_resolver(host: str, port: int) -> list[str]:
    """Addresses of ``host`` from the system resolver (TCP), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def resolve_destination(url: str, policy: DestinationPolicy, resolver: Resolver = system_resolver) -> Destination:
    """Check ``url``, resolve its host once and check every address; raises :class:`RefusedDestination`
    (policy) or ``OSError`` (the name does not resolve)."""
    check_url(url, policy)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if scheme == "https" else 80)
    literal = _literal_address(host)
    answers = [str(literal)] if literal is not None else list(dict.fromkeys(resolver(host, port)))
    if not answers:
        raise OSError(f"{host} has no addresses")
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])  # drop an IPv6 zone id
        reason = address_refusal(address, policy)
        if reason is not None:
            raise RefusedDestination(f"the endpoint's host resolves to {reason}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(scheme, host, port, target, tuple(answers))
