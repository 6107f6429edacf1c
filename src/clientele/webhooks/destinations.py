"""Where a webhook may be sent: an https URL whose host resolves only to public addresses (SPEC §10),
checked when an endpoint is saved and again when each delivery resolves the host, so that a name
that later resolves inside the network reaches nothing there."""

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
# A deliverer keeps a host's checked addresses this long (as aiohttp's resolver cache does by default):
# sending hundreds of events a second to one host would otherwise ask the system's resolver as often,
# through a thread each time.
KEPT_SECONDS = 10.0
# Past this many hosts kept, the expired ones are dropped when another is resolved.
KEPT_HOSTS = 1024


class Refused(ValueError):
    """A URL or address webhooks may not be sent to; the message says why, in one sentence."""


def check_url(url: str, *, allow_private: bool) -> str:
    """The URL if its form may receive webhooks (https, a host, a valid port), else Refused."""
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"The url must not be greater than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("The url must be a valid URL.") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise Refused("The url must start with https://.")
    if not parts.hostname or any(character.isspace() for character in url):
        raise Refused("The url must be a valid URL.")
    if port == 0:
        raise Refused("The url must be a valid URL.")
    return url


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public internet: not loopback, private, link-local, multicast,
    unspecified or reserved (an IPv4 address written as IPv6 is judged as itself)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
    )


@dataclass(frozen=True)
class Destination:
    """A URL's host and port, and the addresses a delivery may connect to, in the resolver's order
    (checked, so DNS cannot change them after)."""

    host: str
    port: int
    addresses: tuple[str, ...]


async def resolve(url: str, *, allow_private: bool) -> Destination:
    """The address to send to for `url`; Refused where the host does not resolve or any of its
    addresses is not public (a name with one inside address is refused whole)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        # A name, or an address in a form only the resolver reads (such as 127.1).
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise Refused(f"The url's host {host} could not be resolved.") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not addresses:
        raise Refused(f"The url's host {host} could not be resolved.")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise Refused(f"The url's host {host} resolves to {address}, which is not a public address.")
    return Destination(host=host, port=port, addresses=tuple(dict.fromkeys(str(address) for address in addresses)))


class Resolver:
    """`resolve` for a deliverer: a host's checked addresses are used again for KEPT_SECONDS. Connecting to
    them stays as safe as right after the lookup, since only checked addresses are kept; a refusal is not
    kept, so that its delivery's retry asks again."""

    def __init__(self, *, allow_private: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.allow_private = allow_private
        self.clock = clock
        self.kept: dict[tuple[str, str], tuple[float, Destination]] = {}

    async def resolve(self, url: str) -> Destination:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        now = self.clock()
        kept = self.kept.get(key)
        if kept is not None and now < kept[0]:
            return kept[1]
        destination = await resolve(url, allow_private=self.allow_private)
        if len(self.kept) >= KEPT_HOSTS:
            self.kept = {other: entry for other, entry in self.kept.items() if now < entry[0]}
        self.kept[key] = (now + KEPT_SECONDS, destination)
        return destination
