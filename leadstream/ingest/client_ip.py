"""Which address a tracking request comes from.

The socket peer, unless the peer is one of the operator's trusted proxies
(``LEADSTREAM_TRUSTED_PROXIES``): then the rightmost ``X-Forwarded-For`` hop that is not itself
a trusted proxy. Hops left of it were written by the client and prove nothing; a proxy appends
the address it saw, so the rightmost untrusted hop is the first one no trusted party vouches
for. uvicorn is told not to rewrite the peer from these headers (``proxy_headers=False``): the
decision is made here, once.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
FORWARDED_FOR = b"x-forwarded-for"
MAX_HOPS = 32  # a longer chain is not read past its last 32 hops
ADDRESSES_KEPT = 65_536  # addresses remembered with their verdict (a client sends many requests)


@lru_cache(maxsize=4096)
def parse_address(text: str) -> IPAddress | None:
    """An address as a peer or a proxy writes it (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``::1``);
    an IPv4-mapped IPv6 address is its IPv4 address. None when it is not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    if not text.isascii():
        return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class ClientAddress:
    """Resolves a request's client IP from its peer and, behind trusted proxies, its forwarded hops."""

    def __init__(self, trusted: Iterable[str] = ()) -> None:
        self._trusted: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in trusted)
        self._seen: dict[str, tuple[str, bool]] = {}  # address as written -> (canonical, trusted)

    def _read(self, text: str) -> tuple[str, bool] | None:
        """An address as written: its canonical form and whether it is a trusted proxy; None if no address."""
        known = self._seen.get(text)
        if known is None:
            addr = parse_address(text)
            if addr is None:
                return None
            if len(self._seen) >= ADDRESSES_KEPT:
                self._seen.clear()
            trusted = any(addr.version == net.version and addr in net for net in self._trusted)
            known = self._seen[text] = (str(addr), trusted)
        return known

    def resolve(self, peer: str | None, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The client IP as text (canonical form), or the peer as given when it is no address."""
        known = self._read(peer) if peer else None
        if known is None:
            return peer
        client, trusted = known
        if not trusted:
            return client
        # Several X-Forwarded-For headers read as one list, in order (RFC 9110 field lines).
        hops = [h for k, v in headers if k.lower() == FORWARDED_FOR for h in v.decode("latin-1").split(",")]
        for hop in reversed(hops[-MAX_HOPS:]):
            known = self._read(hop.strip())
            if known is None:  # garbage where a proxy should have written an address: trust no further
                break
            client, trusted = known
            if not trusted:
                return client
            # a trusted proxy passed it on: look one hop further left
        return client
