"""Where the fleet may send a customer's data: the checks every outbound destination passes when it is used.

A customer types the URL (an alert webhook, a Slack incoming webhook, an export endpoint), so without
checks the fleet would POST wherever they point it: the cloud metadata service, the database, Redis, a
neighbour's admin port. The rules (docs/SECURITY.md, "Outbound destinations"):

- `https` only; no user name or password in the URL; a Slack URL only on hooks.slack.com;
- the host is resolved once and EVERY address it resolves to must be public: not loopback, private
  (RFC 1918, RFC 6598 shared/CGNAT, unique local fc00::/7), link-local (169.254/16, fe80::/10) or a cloud
  metadata address, multicast, unspecified, reserved, documentation, or any other special-purpose range;
  IPv4 addresses embedded in IPv6 (::ffff:a.b.c.d, NAT64, 6to4) are judged as the IPv4 address they reach;
- the connection then goes to one of the addresses that were checked (adapters/pinned_http.py), never to
  a second resolution, so DNS rebinding cannot switch it; redirects are never followed.

`DestinationPolicy(allow_private=True)` (HALTON_ALLOW_PRIVATE_DESTINATIONS=true, for tests and the demo)
admits `http`, loopback and private ranges; link-local, metadata, multicast and reserved stay refused.

A refusal is a `DestinationRefused` whose message names the rule and the host, never the URL's path or
query (a Slack webhook URL is itself the secret).
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from core.errors import TransientError, UserError

SLACK_HOOKS_HOST = "hooks.slack.com"
PUBLIC_ONLY = "only public internet addresses are allowed"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to, as text; tests inject their own to play DNS
Resolve = Callable[[str, int], Sequence[str]]


class DestinationRefused(UserError):
    """A destination the rules do not admit: a person must change the URL. Never retried."""


class DestinationUnresolved(TransientError):
    """The host did not resolve (now): worth trying again later."""


@dataclass(frozen=True)
class DestinationPolicy:
    """What the checks admit. Production: the defaults. Tests and the demo: allow_private=True."""

    allow_private: bool = False
    resolve_timeout: float = 5.0


class SecretURL:
    """A destination URL that does not print itself: only its scheme and host show."""

    __slots__ = ("_url",)

    def __init__(self, url: str) -> None:
        self._url = url

    def reveal(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"SecretURL({shown(self._url)!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a SecretURL is never pickled or sent anywhere")

    def __copy__(self) -> SecretURL:
        return self  # immutable: copies (dataclasses.asdict, deepcopy) share it rather than fail

    def __deepcopy__(self, memo: dict[int, Any]) -> SecretURL:
        return self


def shown(url: str) -> str:
    """What of a URL may appear in a message: scheme, host and port, never the path or query."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "(a URL that does not parse)"
    if not parsed.host:
        return "(a URL without a host)"
    return f"{parsed.scheme}://{_authority(parsed)}/…"


# -- addresses ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AddressClass:
    described: str  # "a loopback address": the words a refusal uses
    private: bool = False  # admitted by allow_private (loopback, RFC 1918, CGNAT, ULA)


LOOPBACK = AddressClass("a loopback address", private=True)
PRIVATE = AddressClass("a private address (RFC 1918)", private=True)
SHARED = AddressClass("a shared carrier-grade NAT address (RFC 6598)", private=True)
UNIQUE_LOCAL = AddressClass("a private unique-local IPv6 address (fc00::/7)", private=True)
METADATA = AddressClass("a cloud metadata service address")
LINK_LOCAL = AddressClass("a link-local address")
MULTICAST = AddressClass("a multicast address")
UNSPECIFIED = AddressClass("an unspecified address")
RESERVED = AddressClass("a reserved address")
DOCUMENTATION = AddressClass("a documentation-only address")
SPECIAL = AddressClass("a special-purpose address that is not publicly routable")

# Most specific first. Python's is_global is the backstop for the rest, but its tables changed across
# 3.11 patch releases (and it calls multicast "global"), so the ranges that matter are spelled out here.
_RANGES: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, AddressClass]] = [
    (ipaddress.ip_network(net), cls) for net, cls in [
        ("169.254.169.254/32", METADATA),  # AWS, GCP, Azure, OpenStack
        ("100.100.100.200/32", METADATA),  # Alibaba Cloud (inside the CGNAT range)
        ("fd00:ec2::254/128", METADATA),  # AWS over IPv6 (inside fc00::/7)
        ("0.0.0.0/8", UNSPECIFIED),
        ("127.0.0.0/8", LOOPBACK),
        ("10.0.0.0/8", PRIVATE),
        ("172.16.0.0/12", PRIVATE),
        ("192.168.0.0/16", PRIVATE),
        ("100.64.0.0/10", SHARED),
        ("169.254.0.0/16", LINK_LOCAL),
        ("224.0.0.0/4", MULTICAST),
        ("240.0.0.0/4", RESERVED),  # includes the broadcast address 255.255.255.255
        ("192.0.0.0/24", RESERVED),  # IETF protocol assignments (Oracle Cloud's metadata is 192.0.0.192)
        ("192.88.99.0/24", RESERVED),  # the retired 6to4 relay anycast
        ("198.18.0.0/15", RESERVED),  # benchmarking
        ("192.0.2.0/24", DOCUMENTATION),
        ("198.51.100.0/24", DOCUMENTATION),
        ("203.0.113.0/24", DOCUMENTATION),
        ("::/128", UNSPECIFIED),
        ("::1/128", LOOPBACK),
        ("fc00::/7", UNIQUE_LOCAL),
        ("fe80::/10", LINK_LOCAL),
        ("fec0::/10", RESERVED),  # the retired site-local range
        ("ff00::/8", MULTICAST),
        ("100::/64", RESERVED),  # discard-only
        ("2001:db8::/32", DOCUMENTATION),
        ("::/8", RESERVED),  # IPv4-compatible and other retired forms (::ffff:0:0/96 is unwrapped first)
    ]
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def classify_address(address: IPAddress) -> tuple[AddressClass | None, IPAddress]:
    """(the class of a non-public address, or None when public; the address judged).

    An IPv6 address that carries an IPv4 address to reach (IPv4-mapped, NAT64's well-known prefix, 6to4)
    is judged as that IPv4 address: ::ffff:127.0.0.1 is loopback.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return classify_address(embedded)[0], embedded
    for network, cls in _RANGES:
        if address.version == network.version and address in network:
            return cls, address
    return (None if address.is_global else SPECIAL), address


def address_refusal(address: IPAddress, policy: DestinationPolicy) -> str | None:
    """Why `address` may not be connected to under `policy` ("a loopback address"), or None."""
    cls, judged = classify_address(address)
    if cls is None or (cls.private and policy.allow_private):
        return None
    if judged != address:
        return f"an IPv6 form of {judged}, {cls.described}"
    return cls.described


# -- the checks -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class CheckedDestination:
    """A URL that passed the checks, with the addresses that were checked: connect only to those."""

    url: SecretURL
    scheme: str
    host: str  # ASCII (IDNA) as it goes into the Host header and TLS SNI
    port: int
    addresses: tuple[IPAddress, ...]
    label: str

    @property
    def shown(self) -> str:
        return shown(self.url.reveal())

    @property
    def authority(self) -> str:
        """host[:port] as messages name the destination: never a path or a query."""
        return _authority(httpx.URL(self.url.reveal()))

    def __repr__(self) -> str:
        return f"CheckedDestination({self.shown!r}, addresses={[str(a) for a in self.addresses]})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a CheckedDestination is used where it was checked, never pickled")


def check_destination(url: SecretURL | str, policy: DestinationPolicy, *, label: str = "webhook destination",
                      required_host: str | None = None, resolve: Resolve | None = None) -> CheckedDestination:
    """Check `url` now: its form, then every address its host resolves to (once). Raises DestinationRefused
    (a person must fix the URL) or DestinationUnresolved (DNS failed: try later).

    `label` names the destination in messages ("webhook destination", "export endpoint");
    `required_host` pins the host (Slack); `resolve` replaces the system resolver (tests).
    """
    secret = url if isinstance(url, SecretURL) else SecretURL(url)
    parsed = _check_form(secret, policy, label, required_host)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    lookup = resolve or system_resolver(policy.resolve_timeout)
    answers = list(dict.fromkeys(lookup(host, port)))  # once, in the resolver's order, without repeats
    if not answers:
        raise DestinationUnresolved(f"{label} unreachable: {_host_text(parsed)} resolves to no address")
    addresses = tuple(_checked_address(text, parsed, policy, label) for text in answers)
    return CheckedDestination(secret, parsed.scheme, host, port, addresses, label)


def check_slack_destination(url: SecretURL | str, policy: DestinationPolicy, *,
                            resolve: Resolve | None = None) -> CheckedDestination:
    return check_destination(url, policy, label="Slack webhook URL", required_host=SLACK_HOOKS_HOST,
                             resolve=resolve)


def _check_form(url: SecretURL, policy: DestinationPolicy, label: str, required_host: str | None) -> httpx.URL:
    try:
        parsed = httpx.URL(url.reveal())
    except (httpx.InvalidURL, TypeError):
        raise DestinationRefused(f"{label} refused: it is not a valid URL") from None
    if parsed.scheme not in ("https", "http"):
        raise DestinationRefused(f"{label} refused: it must be an https:// URL")
    if parsed.scheme == "http" and not policy.allow_private:
        raise DestinationRefused(f"{label} refused: it must use https, not http (the data would travel in clear)")
    if not parsed.host:
        raise DestinationRefused(f"{label} refused: the URL has no host")
    if not _is_host_name(parsed.raw_host.decode("ascii")):
        raise DestinationRefused(f"{label} refused: its host is not a valid host name or IP address")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise DestinationRefused(f"{label} refused: its port is not between 1 and 65535")
    if parsed.userinfo:
        raise DestinationRefused(f"{label} refused: the URL must not carry a user name or password")
    if required_host is not None and parsed.raw_host.decode("ascii") != required_host:
        raise DestinationRefused(f"{label} refused: it must be on {required_host}, "
                                 f"not {_host_text(parsed)}")
    return parsed


def _checked_address(text: str, parsed: httpx.URL, policy: DestinationPolicy, label: str) -> IPAddress:
    host = _host_text(parsed)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise DestinationRefused(f"{label} refused: {host} resolves to something that is not an IP address") from None
    refusal = address_refusal(address, policy)
    if refusal is None:
        return address
    literal = _is_ip_literal(parsed.raw_host.decode("ascii"))
    where = f"{host} is" if literal else f"{host} resolves to {address},"
    raise DestinationRefused(f"{label} refused: {where} {refusal}; {PUBLIC_ONLY}")


_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def _is_host_name(host: str) -> bool:
    """A DNS name of letters, digits, '-' and '_' (IDNA already applied), or an IP literal."""
    if _is_ip_literal(host):
        return True
    labels = host.removesuffix(".").split(".")
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _authority(parsed: httpx.URL) -> str:
    return _host_text(parsed) + (f":{parsed.port}" if parsed.port is not None else "")


def _host_text(parsed: httpx.URL) -> str:
    host = parsed.host
    return f"[{host}]" if ":" in host else host


# -- resolving, with a bound ----------------------------------------------------------------------------------

# getaddrinfo has no timeout of its own: it runs on these threads and the caller stops waiting at the
# bound (a stuck lookup keeps its thread until the system resolver gives up; four at most)
_LOOKUPS = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="halton-dns")


def system_resolver(timeout: float) -> Resolve:
    """The system resolver (getaddrinfo, TCP addresses), bounded by `timeout` seconds."""

    def resolve(host: str, port: int) -> list[str]:
        future = _LOOKUPS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise DestinationUnresolved(f"{host} did not resolve within {timeout:g}s") from None
        except (socket.gaierror, UnicodeError) as error:
            reason = error.strerror if isinstance(error, socket.gaierror) else "not a valid host name"
            raise DestinationUnresolved(f"{host} does not resolve ({reason})") from None
        return [str(info[4][0]) for info in infos]

    return resolve
