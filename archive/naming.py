"""WARC file names: `NIANBAO-<yyyymmddhhmmssfff>-<serial:05d>-<host>-<pid>.warc.gz`, `.open` while written."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "NIANBAO"
SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
_NAME = re.compile(r"^NIANBAO-(?P<ts>\d{17})-(?P<serial>\d{5})-(?P<host>.+)-(?P<pid>\d+)\.warc\.gz(?:\.open)?$")


def safe_host() -> str:
    """This machine's host name, reduced to the characters safe in a file name."""
    return re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname()) or "host"


def warc_name(when: datetime, serial: int, host: str, pid: int) -> str:
    stamp = when.astimezone(UTC).strftime("%Y%m%d%H%M%S") + f"{when.microsecond // 1000:03d}"
    return f"{PREFIX}-{stamp}-{serial:05d}-{host}-{pid}{SUFFIX}"


@dataclass(frozen=True)
class WarcName:
    timestamp: str
    serial: int
    host: str
    pid: int


def parse_warc_name(name: str) -> WarcName | None:
    """The parts of one of our file names, or None for a file another tool wrote."""
    m = _NAME.match(name)
    if not m:
        return None
    return WarcName(m["ts"], int(m["serial"]), m["host"], int(m["pid"]))
