"""Per-host entries: ``host-ca`` and ``host-client-cert``, parsed and matched.

An entry is ``HOST PATH`` or ``HOST=PATH``; entries are separated by newlines
or ``;``. HOST is a host name (case-insensitive, a trailing dot ignored), an
IPv4 address or an IPv6 address in brackets, with an optional ``:PORT``
(without one it matches every port); ``*.NAME`` matches every host below
NAME, at a label boundary, not NAME itself; HOST is never a URL. PATH is
everything after the host and its separator.
For a connection the most specific entry wins: host with port, then host,
then the longest wildcard (with a port before without); the entries written
for that same HOST add up.

A name outside ASCII is kept as the A-label pip connects to: pip's vendored
urllib3 encodes each label of a URL's host with ``idna.encode(label.lower(),
strict=True, std3_rules=True)`` (IDNA 2008) before requests sees it, so the
same call of pip's own ``pip._vendor.idna`` encodes an entry (never Python's
own IDNA 2003 codec: ``straße`` is ``xn--strae-oqa``, not ``strasse``).
A name pattern never matches an IP address: a wildcard whose last label is a
number is refused, and an address host is looked up among addresses only.

A table is indexed by HOST, so matching a host costs a few dictionary
lookups (at most two per label of the host) whatever the size of the table.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from dataclasses import dataclass, field
from itertools import compress
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import ShimError, bad_value
from .settings import Setting, expand

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")
_ENTRY = re.compile(r"^(?P<host>\[[^\]]*\](?::[^\s=]*)?|[^\s=\[]+)\s*(?:=|\s)\s*(?P<path>.*?)\s*$")
_SEPARATORS = re.compile(r"[\n;]")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DOTTED_QUAD = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")
#: a label that is a number, as the last label of an IPv4 address in a URL can be
_NUMBER = re.compile(r"^([0-9]+|0[xX][0-9a-fA-F]*)$")
#: letters and ``_`` as ``a``, digits as ``0``: the shape of a host written in ASCII
_SHAPE = str.maketrans("abcdefghijklmnopqrstuvwxyz_123456789", "a" * 27 + "0" * 9)
#: the shape of ``[*.]NAME[:PORT]`` whose last label starts with a letter (so it is
#: neither an address nor a number) and whose port does not start with 0
_SIMPLE = re.compile(r"(\*\.)?((?:[a0]+(?:-+[a0]+)*\.)*a[a0]*(?:-+[a0]+)*)(:0{1,5})?")
_BIG_PORT = re.compile(
    r":(?:6553[6-9]|655[4-9][0-9]|65[6-9][0-9]{2}|6[6-9][0-9]{3}|[7-9][0-9]{4})\n"
)


@dataclass(frozen=True)
class Pattern:
    """The HOST of an entry, normalised."""

    name: str  # lower case A-labels, no trailing dot; an IP address in its canonical form
    port: Optional[int]
    wildcard: bool  # ``*.name``: every host below ``name``
    written: str = field(default="", compare=False)  # HOST[:PORT] as written

    def shown(self) -> str:
        """The pattern as pip-trustshim writes it."""
        host = f"[{self.name}]" if ":" in self.name else self.name
        host = f"*.{host}" if self.wildcard else host
        return f"{host}:{self.port}" if self.port is not None else host


@dataclass(frozen=True)
class Entry:
    """One entry: its host pattern, its path (expanded), how it was written, and where."""

    pattern: Pattern
    path: str
    written: str
    setting: Setting

    def host(self) -> str:
        """The HOST as matched, and as written when that differs (``xn--strae-oqa.test
        (written 'straße.test')``)."""
        shown, written = self.pattern.shown(), self.pattern.written
        return f"{shown} (written {written!r})" if written and written != shown else shown

    def shown(self) -> str:
        """``HOST -> PATH``, as the command line and ``pip -v`` show an entry."""
        return f"{self.host()} -> {self.path}"

    def error(self, problem: str) -> ShimError:
        """The one-line error naming this entry, as written, and the setting's source."""
        return bad_value(self.setting.key, self.written, self.setting.source, problem)


class Table:
    """The entries of one setting, indexed by HOST, and the setting (for errors).

    ``parse`` makes it. A table written the common way (``HOST PATH`` lines,
    ASCII names) is checked as a whole, and its entries are made when first
    asked for: a pip run makes only those of the hosts it connects to.
    """

    def __init__(self, setting: Setting, entries: Sequence[Entry] = ()) -> None:
        self.setting = setting
        self._made: List[Optional[Entry]] = list(entries)
        #: each entry's path as written: each distinct one finds its first entry
        self._paths: Sequence[str] = [entry.path for entry in entries]
        #: for entries not made yet (``_unmade``): each HOST as written, and each
        #: entry as written unless that is ``HOST PATH``
        self._hosts: Sequence[str] = ()
        self._lines: Optional[Sequence[str]] = None
        self._index([entry.pattern.shown() for entry in entries])

    @classmethod
    def _unmade(
        cls,
        setting: Setting,
        keys: List[str],
        hosts: Sequence[str],
        paths: Sequence[str],
        lines: Optional[Sequence[str]],
    ) -> Table:
        """A table of entries already checked, each made from how it was written when
        first asked for."""
        table = cls(setting)
        table._made = [None] * len(keys)
        table._hosts, table._paths, table._lines = hosts, paths, lines
        table._index(keys)
        return table

    def _index(self, keys: List[str]) -> None:
        """Index the entries by HOST (as ``Pattern.shown`` writes it)."""
        #: HOST -> the position of its entry
        self._one = dict(zip(keys, range(len(keys))))
        #: HOST written more than once -> the positions of all its entries, in order
        self._many: Dict[str, Tuple[int, ...]] = {}
        if len(self._one) < len(keys):
            grouped: Dict[str, List[int]] = {}
            for at, key in enumerate(keys):
                grouped.setdefault(key, []).append(at)
            self._many = {key: tuple(ats) for key, ats in grouped.items() if len(ats) > 1}

    @property
    def entries(self) -> Tuple[Entry, ...]:
        """Every entry, in the order written."""
        return tuple(map(self._entry, range(len(self._made))))

    def match(self, host: str, port: int) -> Tuple[Entry, ...]:
        """The entries of the most specific pattern matching ``host:port``; () if none.

        The host with the port, then without; then, for a name (never an
        address), each name it is below, the longest first, with the port and
        then without. A few lookups, whatever the size of the table.
        """
        if not self._one:
            return ()
        name, address = _connection_host(host)
        if not name.isascii():
            return ()  # a name pip cannot encode, so never connects to
        shown = f"[{name}]" if ":" in name else name
        found = self._lookup(f"{shown}:{port}") or self._lookup(shown)
        if found or address:
            return found
        dot = name.find(".")
        while dot != -1:
            above = name[dot + 1 :]
            found = self._lookup(f"*.{above}:{port}") or self._lookup(f"*.{above}")
            if found:
                return found
            dot = name.find(".", dot + 1)
        return ()

    def files(self) -> Dict[str, Entry]:
        """Each file the entries name (expanded), with the first entry naming it."""
        paths = self._paths
        first = dict(zip(reversed(paths), range(len(paths) - 1, -1, -1)))
        found: Dict[str, Entry] = {}
        for at in sorted(first.values()):
            entry = self._entry(at)
            found.setdefault(entry.path, entry)
        return found

    def repeated(self) -> Optional[Entry]:
        """The first entry written for a HOST that an earlier entry was written for."""
        if not self._many:
            return None
        return self._entry(min(ats[1] for ats in self._many.values()))

    def _lookup(self, key: str) -> Tuple[Entry, ...]:
        ats = self._many.get(key)
        if ats is None:
            at = self._one.get(key)
            ats = () if at is None else (at,)
        return tuple(map(self._entry, ats))

    def _entry(self, at: int) -> Entry:
        entry = self._made[at]
        if entry is None:
            lines = self._lines
            if lines is not None:
                written = lines[at].strip()
            else:
                written = f"{self._hosts[at]} {self._paths[at]}"
            entry = self._made[at] = _make(written, self.setting)
        return entry


def parse(setting: Setting) -> Table:
    """The entries of a ``host-ca``/``host-client-cert`` setting; ShimError when one is bad."""
    table = _parse_common(setting)
    if table is not None:
        return table
    return Table(setting, [_make(written, setting) for written in _segments(setting.value)])


def _parse_common(setting: Setting) -> Optional[Table]:
    """A table written the common way, checked as a whole; None for any other.

    Common: each entry ``HOST PATH`` on a line of its own (no ``=``, no space
    in the path), HOST an ASCII name whose last label starts with a letter,
    with an optional port. Each line has two words: checked by writing the
    words back as ``HOST PATH`` lines (the form ``enable`` and pip.conf give),
    else line by line. A HOST is checked by its shape (letters and digits
    replaced), and the hosts of a table share a few shapes. Anything else,
    valid or not, is left to the general way, entry by entry.
    """
    text = setting.value.replace(";", "\n").strip()
    if "=" in text:
        return None
    words = text.split()
    if not words:
        return Table(setting)
    hosts, paths = words[0::2], words[1::2]
    lines = None  # None: the entries are written exactly "HOST PATH"
    if len(hosts) != len(paths) or "\n".join(map(" ".join, zip(hosts, paths))) != text:
        every = text.split("\n")
        counts = list(map(len, map(str.split, every)))
        if not set(counts) <= {0, 2}:
            return None
        lines = list(compress(every, counts))
    written = "\n" + "\n".join(hosts) + "\n"
    if not written.isascii() or ":0" in written:
        return None
    lower = written.lower()
    shapes = set(lower.translate(_SHAPE).split("\n"))
    shapes.discard("")  # before the first host and after the last
    for shape in shapes:
        simple = _SIMPLE.fullmatch(shape)
        if simple is None or not _short_enough(simple.group(2)):
            return None
    if any(shape.endswith(":00000") for shape in shapes) and _BIG_PORT.search(written):
        return None
    keys = hosts if lower == written else lower[1:-1].split("\n")
    return Table._unmade(setting, keys, hosts, paths, lines)


def _short_enough(name: str) -> bool:
    return len(name) <= 253 and all(len(label) <= 63 for label in name.split("."))


def _segments(value: str) -> List[str]:
    """A setting's entries as written: split, stripped, the empty ones dropped."""
    return [written for written in map(str.strip, _SEPARATORS.split(value)) if written]


def _make(written: str, setting: Setting) -> Entry:
    """One entry, the general way; ShimError naming it when it is bad."""
    pattern, path = _parse_entry(written, setting)
    return Entry(pattern, expand(path), written, setting)


def _parse_entry(written: str, setting: Setting) -> Tuple[Pattern, str]:
    """Any entry, the general way; ShimError naming it when it is bad."""
    if _URL.match(written):
        problem = "HOST is a host name, not a URL: give the host name alone"
        raise bad_value(setting.key, written, setting.source, problem)
    match = _ENTRY.match(written)
    if match is None or not match.group("path"):
        problem = "write HOST PATH or HOST=PATH (HOST: a name, an IPv4 address or an "
        problem += "[IPv6] address, with an optional :PORT)"
        raise bad_value(setting.key, written, setting.source, problem)
    try:
        return parse_host(match.group("host")), match.group("path")
    except ValueError as error:
        raise bad_value(setting.key, written, setting.source, str(error)) from None


def parse_host(text: str) -> Pattern:
    """HOST[:PORT] as a pattern; ValueError saying what is wrong."""
    if _URL.match(text):
        raise ValueError(f"{text!r}: HOST is a host name, not a URL: give the host name alone")
    host, port = _split_port(text)
    wildcard = host.startswith("*.")
    name = host[2:] if wildcard else host
    if name.startswith("[") and name.endswith("]"):
        if wildcard:
            raise ValueError(f"{text!r}: a wildcard goes before a host name, not an address")
        try:
            return Pattern(str(ipaddress.IPv6Address(name[1:-1])), port, False, text)
        except ValueError:
            raise ValueError(f"{text!r}: {name} is not an IPv6 address") from None
    name = _host_name(name, text)
    if wildcard and _NUMBER.match(name.rpartition(".")[2]):
        raise ValueError(
            f"{text!r}: a wildcard goes before a host name, not an address "
            "(a name whose last part is a number is read as an IPv4 address)"
        )
    return Pattern(name, port, wildcard, text)


def normalise(host: str) -> str:
    """A host as a connection names it, in the form patterns are kept in.

    A name pip cannot encode stays outside ASCII: it matches nothing.
    """
    return _connection_host(host)[0]


def _connection_host(host: str) -> Tuple[str, bool]:
    """The host's key in a table, and whether it is an IP address."""
    host = host.strip().strip("[]").rstrip(".")
    if host.isascii():
        host = host.lower()
        if ":" in host or host[-1:].isdigit():
            try:
                return str(ipaddress.ip_address(host.split("%")[0])), True
            except ValueError:
                pass
        return host, False
    try:
        return a_label(host), False
    except ValueError:
        return host, False


def a_label(name: str) -> str:
    """A name outside ASCII as pip connects to it; ValueError when pip cannot encode it.

    pip's vendored urllib3 splits a URL's host at each ``.`` (no other dot)
    and encodes each label that is not ASCII with ``idna.encode(label.lower(),
    strict=True, std3_rules=True)`` (IDNA 2008), and lower-cases the others;
    requests' own IDNA step then has nothing left to encode. The same
    ``pip._vendor.idna`` does it here, label by label: lower-casing the whole
    name would differ (``"x.Σ".lower()`` ends in a final sigma, ``ς``).
    """
    try:
        idna = importlib.import_module("pip._vendor.idna")
    except Exception:
        raise ValueError(
            "a host name outside ASCII is encoded with pip's own IDNA encoder "
            "(pip._vendor.idna), which cannot be imported here: write the name's A-label (xn--...)"
        ) from None
    labels = []
    for label in name.split("."):
        if label.isascii():
            labels.append(label.lower())
            continue
        try:
            labels.append(idna.encode(label.lower(), strict=True, std3_rules=True).decode())
        except (UnicodeError, ValueError) as error:
            reason = str(error).encode("ascii", "backslashreplace").decode("ascii")
            raise ValueError(f"pip cannot encode {label!r} (IDNA 2008: {reason})") from None
    return ".".join(labels)


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
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise ValueError(f"{written!r}: the port must be a number from 1 to 65535")
    return int(text)


def _host_name(name: str, written: str) -> str:
    name = name.rstrip(".")
    if not name.isascii():
        try:
            name = a_label(name)
        except ValueError as error:
            raise ValueError(f"{written!r}: {error}") from None
    name = name.lower()
    if _DOTTED_QUAD.match(name) and _is_ipv4(name):
        return str(ipaddress.IPv4Address(name))
    labels = name.split(".")
    if not name or len(name) > 253 or not all(map(_LABEL.match, labels)):
        raise ValueError(f"{written!r} is not a host name, an IPv4 address or an [IPv6] address")
    if any(len(label) > 63 for label in labels):
        raise ValueError(f"{written!r}: a part of a host name has at most 63 characters")
    return name


def _is_ipv4(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True
