"""Where an address is, as far as Cordée can tell without a geolocation service.

No GeoIP database is shipped. Two addresses are on *distant networks* when they differ in their
first ``DETECT_PREFIX_V4`` bits (IPv4, /16 by default) or ``DETECT_PREFIX_V6`` bits (IPv6, /32):
a rough stand-in for "two different operators or sites". An IPv4 and an IPv6 address are never
called distant (a dual-stack computer uses both). A country is known only when
``DETECT_COUNTRY_DATABASE`` names a CSV file of ``network,country`` lines (``192.0.2.0/24,FR``;
built for instance from the RIRs' delegated statistics); without it, ``country()`` is "".
"""

from __future__ import annotations

import bisect
import csv
import functools
import ipaddress
import logging

from django.conf import settings

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(ip: str) -> Address | None:
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


@functools.lru_cache(maxsize=65536)
def _network(ip: str, v4: int, v6: int) -> tuple[int, str]:
    """(family, prefix) of an address; (0, "") if it is not one. Cached: a batch names few addresses."""
    address = _parse(ip)
    if address is None:
        return 0, ""
    bits = v4 if address.version == 4 else v6
    return address.version, str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def network(ip: str) -> str:
    """The network an address belongs to (its prefix), "" if it is not an address."""
    return _network(ip, settings.DETECT_PREFIX_V4, settings.DETECT_PREFIX_V6)[1]


def distant(a: str, b: str) -> bool:
    """Two addresses of the same family on different networks (see the module's docstring)."""
    if a == b:
        return False
    v4, v6 = settings.DETECT_PREFIX_V4, settings.DETECT_PREFIX_V6
    (first, one), (second, other) = _network(a, v4, v6), _network(b, v4, v6)
    return bool(first) and first == second and one != other


class _Countries:
    """Sorted ranges (start, end, country) per family, searched by bisection."""

    def __init__(self, path: str) -> None:
        ranges: dict[int, list[tuple[int, int, str]]] = {4: [], 6: []}
        with open(path, encoding="utf-8", newline="") as lines:
            for row in csv.reader(lines):
                if len(row) < 2 or row[0].startswith("#"):
                    continue
                try:
                    net = ipaddress.ip_network(row[0].strip(), strict=False)
                except ValueError:
                    continue  # a header, a comment
                code = row[1].strip().upper()[:2]
                ranges[net.version].append((int(net.network_address), int(net.broadcast_address), code))
        self.ranges = {version: sorted(found) for version, found in ranges.items()}
        self.starts = {version: [start for start, _end, _code in found] for version, found in self.ranges.items()}

    def find(self, address: Address) -> str:
        ranges, starts = self.ranges[address.version], self.starts[address.version]
        index = bisect.bisect_right(starts, int(address)) - 1
        if index >= 0 and ranges[index][1] >= int(address):
            return ranges[index][2]
        return ""


@functools.lru_cache(maxsize=2)
def _database(path: str) -> _Countries | None:
    try:
        return _Countries(path)
    except OSError as exc:
        logger.warning("country database %s unreadable: %s", path, exc)
        return None


def has_countries() -> bool:
    return bool(settings.DETECT_COUNTRY_DATABASE) and _database(settings.DETECT_COUNTRY_DATABASE) is not None


def country(ip: str) -> str:
    """The two-letter country of an address from the configured database, "" if unknown."""
    address = _parse(ip)
    if address is None or not settings.DETECT_COUNTRY_DATABASE:
        return ""
    database = _database(settings.DETECT_COUNTRY_DATABASE)
    return database.find(address) if database is not None else ""
