"""Faults the portal can switch on (issue 8), chosen deterministically from the seed.

Transient faults hit a URL's first ``failures`` requests, then it answers normally, so a crawler that
retries still finds every report:
  ``503``         5 % of URLs answer 503 Service Unavailable (with Retry-After);
  ``slow``        2 % answer only after ``slow_seconds`` (past a short download timeout);
  ``reset``       2 % close the connection with a TCP reset before any answer;
  ``short_body``  2 % send fewer bytes than their Content-Length, then close.
Structural faults add pages (see the sites): ``wrong_charset`` (utf-8 bytes sent as charset=gbk),
``redirect_loop``, ``gzip_bomb``, ``endless_pagination`` (an extra column that never ends) and
``billion_laughs`` (an extra Hanweb column whose proxy answers an entity bomb).
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

TRANSIENT: dict[str, float] = {"503": 0.05, "slow": 0.02, "reset": 0.02, "short_body": 0.02}
STRUCTURAL = ("wrong_charset", "redirect_loop", "gzip_bomb", "endless_pagination", "billion_laughs")
ALL_FAULTS = tuple(TRANSIENT) + STRUCTURAL


def parse_faults(faults: Iterable[str] | str | None) -> frozenset[str]:
    """``None`` -> none; ``"all"`` -> every fault; a comma list or iterable of names -> those."""
    if faults is None:
        return frozenset()
    names = [f.strip() for f in (faults.split(",") if isinstance(faults, str) else faults) if f.strip()]
    if "all" in names:
        return frozenset(ALL_FAULTS)
    unknown = sorted(set(names) - set(ALL_FAULTS))
    if unknown:
        raise ValueError(f"unknown portal fault(s) {', '.join(unknown)}: expected 'all' or any of {', '.join(ALL_FAULTS)}")
    return frozenset(names)


@dataclass(frozen=True)
class TransientFault:
    fault: str
    path: str
    failures: int = 1


def _draw(seed: int | str, fault: str, path: str) -> float:
    digest = hashlib.sha256(f"{seed}|{fault}|{path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def plan_transient(seed: int | str, enabled: frozenset[str], paths: Iterable[str]) -> dict[str, TransientFault]:
    """path -> its fault (at most one per path), for the enabled transient faults; every enabled fault
    hits at least one path (the one it draws lowest), so a small portal still shows each of them."""
    candidates = [p for p in dict.fromkeys(paths) if p != "/robots.txt"]
    out: dict[str, TransientFault] = {}
    for path in candidates:
        for fault, rate in TRANSIENT.items():
            if fault in enabled and _draw(seed, fault, path) < rate:
                out[path] = TransientFault(fault, path)
                break
    for fault in TRANSIENT:
        if fault in enabled and not any(f.fault == fault for f in out.values()):
            free = [p for p in candidates if p not in out]
            if free:
                path = min(free, key=lambda p: _draw(seed, fault, p))
                out[path] = TransientFault(fault, path)
    return out


@lru_cache(maxsize=2)
def gzip_bomb(inflated_bytes: int) -> bytes:
    """A gzip member of ``inflated_bytes`` zeros (about 1000:1), built without holding it inflated."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as gz:
        chunk = bytes(1 << 20)
        left = inflated_bytes
        while left > 0:
            gz.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return out.getvalue()


def billion_laughs(levels: int = 10) -> bytes:
    """The classic entity-expansion XML: 10 levels of 10 references each is 10^9 copies of "lol"."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<!DOCTYPE datastore [", ' <!ENTITY lol0 "lol">']
    for i in range(1, levels):
        refs = f"&lol{i - 1};" * 10
        lines.append(f' <!ENTITY lol{i} "{refs}">')
    lines.append("]>")
    lines.append(f"<datastore><recordset><record>&lol{levels - 1};</record></recordset></datastore>")
    return "\n".join(lines).encode()

