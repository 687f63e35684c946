"""Per-host entries: ``host-ca`` and ``host-client-cert``, parsed and matched.

An entry is ``HOST PATH`` or ``HOST=PATH``; entries are separated by newlines
or ``;``. HOST is a host name (case-insensitive, a trailing dot ignored), an
IPv4 address or an IPv6 address in brackets, with an optional ``:PORT``
(without one it matches every port); ``*.NAME`` matches every host below
NAME, not NAME itself. PATH is everything after the host and its separator.
For a connection the most specific entry wins: host with port, then host,
then the longest wildcard (with a port before without); the entries written
for that same HOST add up.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from .errors import ShimError, bad_value
from .settings import Setting, expand

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")
_ENTRY = re.compile(r"^(?P<host>\[[^\]]*\](?::[^\s=]*)?|[^\s=\[]+)\s*(?:=|\s)\s*(?P<path>.*?)\s*$")


@dataclass(frozen=True)
class Pattern:
    """The HOST of an entry, normalised."""

    name: str  # lower case, no trailing dot; an IP address in its canonical form
    port: Optional[int]
    wildcard: bool  # ``*.name``: every host below ``name``

    def shown(self) -> str:
        """The pattern as pip-trustshim writes it."""
        host = f"[{self.name}]" if ":" in self.name else self.name
        host = f"*.{host}" if self.wildcard else host
        return f"{host}:{self.port}" if self.port is not None else host

    def rank(self, host: str, port: int) -> Optional[Tuple[int, int, int]]:
        """How specifically this pattern matches ``host:port`` (higher wins); None if not."""
        if self.port is not None and self.port != port:
            return None
        if not self.wildcard:
            return (2, 0, int(self.port is not None)) if host == self.name else None
        if host.endswith("." + self.name):
            return (1, len(self.name), int(self.port is not None))
        return None


@dataclass(frozen=True)
class Entry:
    """One entry: its host pattern, its path (expanded), how it was written, and where."""

    pattern: Pattern
    path: str
    written: str
    setting: Setting

    def shown(self) -> str:
        """``HOST -> PATH``, as the command line and ``pip -v`` show an entry."""
        return f"{self.pattern.shown()} -> {self.path}"

    def error(self, problem: str) -> ShimError:
        """The one-line error naming this entry, as written, and the setting's source."""
        return bad_value(self.setting.key, self.written, self.setting.source, problem)


@dataclass(frozen=True)
class Table:
    """The entries of one setting, and the setting (for errors)."""

    setting: Setting
    entries: Tuple[Entry, ...]

    def match(self, host: str, port: int) -> Tuple[Entry, ...]:
        """The entries of the most specific pattern matching ``host:port``; () if none.

        Two patterns of the same rank that both match are the same pattern, so
        the entries returned all share one.
        """
        best: Optional[Tuple[int, int, int]] = None
        found: List[Entry] = []
        name = normalise(host)
        for entry in self.entries:
            rank = entry.pattern.rank(name, port)
            if rank is None or (best is not None and rank < best):
                continue
            if best is None or rank > best:
                best, found = rank, []
            found.append(entry)
        return tuple(found)


def parse(setting: Setting) -> Table:
    """The entries of a ``host-ca``/``host-client-cert`` setting; ShimError when one is bad."""
    entries = []
    for written in re.split(r"[\n;]", setting.value):
        written = written.strip()
        if not written:
            continue
        match = _ENTRY.match(written)
        if match is None or not match.group("path"):
            problem = "write HOST PATH or HOST=PATH (HOST: a name, an IPv4 address or an "
            problem += "[IPv6] address, with an optional :PORT)"
            raise bad_value(setting.key, written, setting.source, problem)
        try:
            pattern = parse_host(match.group("host"))
        except ValueError as error:
            raise bad_value(setting.key, written, setting.source, str(error)) from None
        entries.append(Entry(pattern, expand(match.group("path")), written, setting))
    return Table(setting, tuple(entries))


def parse_host(text: str) -> Pattern:
    """HOST[:PORT] as a pattern; ValueError saying what is wrong."""
    host, port = _split_port(text)
    wildcard = host.startswith("*.")
    name = host[2:] if wildcard else host
    if name.startswith("[") and name.endswith("]"):
        if wildcard:
            raise ValueError(f"{text!r}: a wildcard goes before a host name, not an address")
        try:
            return Pattern(str(ipaddress.IPv6Address(name[1:-1])), port, False)
        except ValueError:
            raise ValueError(f"{text!r}: {name} is not an IPv6 address") from None
    name = _host_name(name, text)
    if wildcard and _is_ipv4(name):
        raise ValueError(f"{text!r}: a wildcard goes before a host name, not an address")
    return Pattern(name, port, wildcard)


def normalise(host: str) -> str:
    """A host as a connection names it, in the form patterns are kept in."""
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host.split("%")[0]))
    except ValueError:
        return _idna(host)


def _split_port(text: str) -> Tuple[str, Optional[int]]:
    if text.startswith("["):
        host, _, rest = text.partition("]")
        host += "]"
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError(f"{text!r}: write an IPv6 address as [ADDRESS] or [ADDRESS]:PORT")
        return host, _port(rest[1:], text)
    if text.count(":") > 1:
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, as [ADDRESS]")
    host, colon, port = text.partition(":")
    return host, _port(port, text) if colon else None


def _port(text: str, written: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{written!r}: the port must be a number from 1 to 65535")
    return int(text)


def _host_name(name: str, written: str) -> str:
    name = name.rstrip(".").lower()
    if _is_ipv4(name):
        return str(ipaddress.IPv4Address(name))
    ascii_name = _idna(name)
    labels = ascii_name.split(".")
    if not ascii_name or len(ascii_name) > 253 or not all(map(_LABEL.match, labels)):
        raise ValueError(f"{written!r} is not a host name, an IPv4 address or an [IPv6] address")
    if any(len(label) > 63 for label in labels):
        raise ValueError(f"{written!r}: a part of a host name has at most 63 characters")
    return ascii_name


def _is_ipv4(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def _idna(name: str) -> str:
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name  # not a valid name: _LABEL refuses it
