"""The per-host matcher, property-tested (hypothesis): fast, in process."""

from __future__ import annotations

import random
from typing import List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pip_trustshim import hosts
from pip_trustshim.errors import ShimError
from pip_trustshim.settings import Setting

LABELS = st.sampled_from(["pypi", "corp", "example", "build", "a", "b", "x-1", "int_ra"])
NAMES = st.lists(LABELS, min_size=1, max_size=4).map(".".join)
PORTS = st.one_of(st.none(), st.sampled_from([443, 8443, 1, 65535]))
IPS = st.sampled_from(["127.0.0.1", "10.0.0.7", "[::1]", "[2001:db8::5]"])


def table(*lines: str) -> hosts.Table:
    return hosts.parse(Setting("host-ca", "\n".join(lines), "test"))


@st.composite
def patterns(draw: st.DrawFn) -> str:
    """HOST[:PORT] as a user writes it: a name, a wildcard, or an address."""
    kind = draw(st.sampled_from(["name", "wildcard", "ip"]))
    host = draw(IPS) if kind == "ip" else draw(NAMES)
    host = f"*.{host}" if kind == "wildcard" else host
    port = draw(PORTS)
    return f"{host}:{port}" if port is not None else host


def expected_rank(pattern: str, host: str, port: int) -> Tuple[int, int, int] | None:
    """The rule of the contract, written out independently of hosts.Pattern.rank."""
    written, _, port_text = (
        pattern.rpartition(":")
        if pattern.count(":") == 1 or (pattern.startswith("[") and "]:" in pattern)
        else (pattern, "", "")
    )
    wanted = int(port_text) if port_text else None
    if wanted is not None and wanted != port:
        return None
    name = written.strip("[]").lower()
    if written.startswith("*."):
        suffix = name[2:]
        return (1, len(suffix), int(wanted is not None)) if host.endswith("." + suffix) else None
    same = name == host.strip("[]").lower() or (
        ":" in name and hosts.normalise(name) == hosts.normalise(host)
    )
    return (2, 0, int(wanted is not None)) if same else None


@settings(max_examples=300, deadline=None)
@given(
    written=st.lists(patterns(), min_size=1, max_size=8),
    host=st.one_of(NAMES, IPS),
    port=st.sampled_from([443, 8443, 1, 65535]),
    seed=st.integers(0, 1000),
)
def test_the_most_specific_entry_wins(written: List[str], host: str, port: int, seed: int) -> None:
    lines = [f"{pattern} /ca/{n}.pem" for n, pattern in enumerate(written)]
    random.Random(seed).shuffle(lines)
    found = table(*lines).match(host, port)
    ranks = [(expected_rank(line.rsplit(" ", 1)[0], host, port), line) for line in lines]
    matching = [(rank, line) for rank, line in ranks if rank is not None]
    if not matching:
        assert found == ()
        return
    best = max(rank for rank, _ in matching)
    assert sorted(e.written for e in found) == sorted(
        line for rank, line in matching if rank == best
    )
    assert len({entry.pattern for entry in found}) == 1  # one HOST; its entries add up


@settings(max_examples=200, deadline=None)
@given(
    pattern=patterns(),
    path=st.text(
        st.characters(blacklist_characters=";$~=", blacklist_categories=["Cc", "Zl", "Zp"])
    )
    .map(str.strip)
    .filter(bool),
)
def test_entries_read_back_as_written(pattern: str, path: str) -> None:
    """Everything after the host and its separator is the path, spaces included."""
    for separator in (" ", "=", "  =  "):
        (entry,) = table(f"{pattern}{separator}{path}").entries
        assert entry.path == path
        (again,) = table(f"{entry.pattern.shown()} {entry.path}").entries
        assert again.pattern == entry.pattern


@settings(max_examples=200, deadline=None)
@given(name=NAMES)
def test_a_wildcard_never_matches_its_own_name_and_names_ignore_case(name: str) -> None:
    found = table(f"*.{name} /w.pem", f"{name.upper()}. /n.pem")
    assert [e.path for e in found.match(name, 443)] == ["/n.pem"]
    assert [e.path for e in found.match(f"sub.{name.upper()}.", 443)] == ["/w.pem"]


@pytest.mark.parametrize(
    "line, words",
    [
        ("pypi.corp.example", "write HOST PATH or HOST=PATH"),
        ("pypi.corp.example=", "write HOST PATH or HOST=PATH"),
        ("host:0 /p", "port must be a number from 1 to 65535"),
        ("host:65536 /p", "port must be a number from 1 to 65535"),
        ("host:x /p", "port must be a number from 1 to 65535"),
        ("::1 /p", "IPv6 address in brackets"),
        ("[::g]:443 /p", "is not an IPv6 address"),
        ("*.*.corp /p", "is not a host name"),
        ("-corp.example /p", "is not a host name"),
        ("*.10.0.0.1 /p", "a wildcard goes before a host name"),
        ("*.[::1] /p", "write HOST PATH or HOST=PATH"),
    ],
)
def test_a_malformed_entry_is_one_line_naming_it(line: str, words: str) -> None:
    with pytest.raises(ShimError) as caught:
        hosts.parse(Setting("host-ca", f"good.example /ok.pem; {line}", "the test"))
    message = str(caught.value)
    assert message.startswith(f"pip-trustshim: trustshim.host-ca = {line!r} (from the test): ")
    assert words in message and "\n" not in message
