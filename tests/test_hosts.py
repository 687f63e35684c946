"""The per-host matcher, property-tested (hypothesis): fast, in process.

Host names outside ASCII are compared with pip itself: the host that the
test environment's own pip (its vendored requests and urllib3) puts in a
request for a URL naming them.
"""

from __future__ import annotations

import pathlib
import random
import sys
import urllib.parse
from typing import List, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pip._vendor.requests.exceptions import InvalidURL
from pip._vendor.requests.models import PreparedRequest

from pip_trustshim import hosts, trust
from pip_trustshim.errors import ShimError
from pip_trustshim.settings import Setting, Settings

#: labels that end in one another (corp, xcorp, evilcorp, orp): a wildcard
#: must match at a label boundary, never inside a label
LABELS = st.sampled_from(
    ["pypi", "corp", "xcorp", "evilcorp", "orp", "example", "a", "ba", "b", "x-1", "int_ra", "ra"]
)
NAMES = st.lists(LABELS, min_size=1, max_size=4).map(".".join)
PORTS = st.one_of(st.none(), st.sampled_from([443, 8443, 1, 65535]))
IPS = st.sampled_from(["127.0.0.1", "10.0.0.7", "[::1]", "[2001:db8::5]"])
#: what goes before a pattern's name to make a host near it: below it, or not
PREFIXES = st.sampled_from(["", "a.", "x.a.", "x", "evil", "a.x", "-", "."])


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


def name_of(pattern: str) -> str:
    """The name or address of a pattern, without its wildcard, brackets and port."""
    if pattern.startswith("["):
        return pattern[1 : pattern.index("]")]
    host = pattern.rpartition(":")[0] if ":" in pattern else pattern
    return host[2:] if host.startswith("*.") else host


def near(written: List[str]) -> st.SearchStrategy[str]:
    """A host made from one of the patterns: its name with something before it."""
    return st.builds(str.__add__, PREFIXES, st.sampled_from([name_of(w) for w in written]))


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
    data=st.data(),
    written=st.lists(patterns(), min_size=1, max_size=8),
    port=st.sampled_from([443, 8443, 1, 65535]),
    seed=st.integers(0, 1000),
)
def test_the_most_specific_entry_wins(
    data: st.DataObject, written: List[str], port: int, seed: int
) -> None:
    host = data.draw(st.one_of(NAMES, IPS, near(written)))
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
        ("*.0.1 /p", "a wildcard goes before a host name, not an address"),
        ("*.1:443 /p", "a wildcard goes before a host name, not an address"),
        ("*.corp.0x7f /p", "a wildcard goes before a host name, not an address"),
        ("*.[::1] /p", "write HOST PATH or HOST=PATH"),
        ("https://pypi.corp.example/simple /p", "HOST is a host name, not a URL: give the host"),
        ("https://x/=/p", "HOST is a host name, not a URL: give the host name alone"),
        ("HTTP://x:8443 /p", "HOST is a host name, not a URL: give the host name alone"),
        ("a\u200db.example /p", "pip cannot encode 'a\\u200db'"),
        ("stra\u00dfe\u3002example /p", "pip cannot encode"),
        ("\uff43orp.example /p", "pip cannot encode"),
    ],
)
def test_a_malformed_entry_is_one_line_naming_it(line: str, words: str) -> None:
    with pytest.raises(ShimError) as caught:
        hosts.parse(Setting("host-ca", f"good.example /ok.pem; {line}", "the test"))
    message = str(caught.value)
    assert message.startswith(f"pip-trustshim: trustshim.host-ca = {line!r} (from the test): ")
    assert words in message and "\n" not in message


@pytest.mark.parametrize("separator", [" ", "="], ids=["common-form", "general-way"])
def test_a_port_entry_matches_its_port_only_and_wins_there(separator: str) -> None:
    lines = [
        "pypi.corp.test /host.pem",
        "pypi.corp.test:8443 /port.pem",
        "*.corp.test /wild.pem",
        "*.corp.test:8443 /wild-port.pem",
        "10.0.0.7:8443 /address-port.pem",
    ]
    found = table(*(line.replace(" ", separator) for line in lines))

    def paths(host: str, port: int) -> List[str]:
        return [entry.path for entry in found.match(host, port)]

    assert (paths("pypi.corp.test", 8443), paths("pypi.corp.test", 443)) == (
        ["/port.pem"],
        ["/host.pem"],
    )
    assert (paths("x.corp.test", 8443), paths("x.corp.test", 443)) == (
        ["/wild-port.pem"],
        ["/wild.pem"],
    )
    assert (paths("10.0.0.7", 8443), paths("10.0.0.7", 443)) == (["/address-port.pem"], [])


@pytest.mark.parametrize("separator", [" ", "="], ids=["common-form", "general-way"])
def test_a_name_has_parts_of_63_characters_and_253_in_all(separator: str) -> None:
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    for name in ("a" * 63 + ".test", longest):
        (entry,) = table(f"{name}{separator}/ok.pem").entries
        assert entry.pattern.name == name
    for name, words in (
        ("a" * 64 + ".test", "a part of a host name has at most 63 characters"),
        (longest + "d", "is not a host name"),
    ):
        with pytest.raises(ShimError, match=words):
            table(f"{name}{separator}/no.pem")


# ------------------------------------------------------------ wildcards and labels


@pytest.mark.parametrize(
    "host, below",
    [
        ("a.corp.test", True),
        ("x.a.corp.test", True),
        ("corp.test", False),
        ("evilcorp.test", False),
        ("xcorp.test", False),
        ("a.xcorp.test", False),
        ("corp.test.evil", False),
    ],
)
def test_a_wildcard_matches_at_a_label_boundary(host: str, below: bool) -> None:
    found = table("*.corp.test /w.pem").match(host, 443)
    assert [e.path for e in found] == (["/w.pem"] if below else [])


def test_a_name_outside_ascii_is_below_a_wildcard_too() -> None:
    """A host outside ASCII is looked up as its A-labels, among the wildcards too."""
    found = table("*.corp.test /w.pem", "*.bücher.test /b.pem")
    assert [e.path for e in found.match("straße.corp.test", 443)] == ["/w.pem"]
    assert [e.path for e in found.match("x.Bücher.test.", 443)] == ["/b.pem"]
    assert [e.path for e in found.match("x.xn--bcher-kva.test", 443)] == ["/b.pem"]


# ------------------------------------------------------------ addresses and names


@settings(max_examples=200, deadline=None)
@given(
    labels=st.lists(
        st.sampled_from(["0", "1", "127", "255", "256", "08", "0x7f", "0X1"]), max_size=3
    ),
    last=st.sampled_from(["0", "1", "001", "4294967295", "0x7f", "0x", "0XfF"]),
    port=PORTS,
)
def test_a_wildcard_that_could_match_an_address_is_refused(
    labels: List[str], last: str, port: Optional[int]
) -> None:
    """A name whose last label is a number (as a URL's IPv4 address ends) takes no wildcard."""
    name = ".".join([*labels, last])
    host = f"*.{name}:{port}" if port else f"*.{name}"
    with pytest.raises(ShimError, match="a wildcard goes before a host name, not an address"):
        table(f"{host} /w.pem")
    own = table(f"{name} /n.pem")  # as a host of its own: a name or an address
    (entry,) = own.entries
    assert entry.pattern.wildcard is False and entry.pattern.port is None, entry
    assert [e.path for e in own.match(name, 443)] == ["/n.pem"], entry


@pytest.mark.parametrize("name", ["1password.com", "0a.example", "x.1a", "a.b-0"])
def test_a_wildcard_before_a_name_with_digits_is_a_name(name: str) -> None:
    found = table(f"*.{name} /w.pem").match(f"sub.{name}", 443)
    assert [e.path for e in found] == ["/w.pem"]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "::1", "[::ffff:127.0.0.1]"])
def test_an_address_never_matches_a_name_pattern(address: str) -> None:
    """Even a name pattern that parse() would refuse: an address is looked up as an address."""
    setting = Setting("host-ca", "", "test")
    entries = [
        hosts.Entry(hosts.Pattern(name, None, True), f"/{name}.pem", name, setting)
        for name in ("0.0.1", "0.1", "1", "127.0.0.1", "ffff:127.0.0.1", "0.0.1]")
    ]
    assert hosts.Table(setting, entries).match(address, 443) == ()
    written = f"[{address}]" if ":" in address and "[" not in address else address
    assert table(f"{written} /a.pem").match(address, 443)  # an address entry matches


# --------------------------------------------------------------- names outside ASCII


def pip_host(name: str) -> Optional[str]:
    """The host pip's own requests (urllib3 inside it) connects to for a URL naming ``name``;
    None when pip refuses such a URL. The oracle: pip itself, not the shim's encoder."""
    request = PreparedRequest()
    try:
        request.prepare_url(f"https://{name}/simple/", None)
    except InvalidURL:
        return None
    host = urllib.parse.urlsplit(str(request.url)).hostname
    assert host is not None and host.isascii(), request.url
    return host.rstrip(".")


#: labels outside ASCII that IDNA 2003 and 2008 (and UTS-46) treat differently
ULABELS = st.sampled_from(
    [
        "straße",
        "STRAßE",
        "Straße",
        "strasse",
        "xn--strae-oqa",
        "ς",
        "σ",
        "Σ",
        "ςa",
        "a\u200db",  # ZWJ: not after a virama
        "a\u200cb",  # ZWNJ
        "\u0915\u094d\u200d\u0937",  # ZWJ after a virama: allowed
        "bücher",
        "BÜCHER",
        "\uff43\uff4f\uff52\uff50",  # full-width letters
        "İstanbul",
        "e\u0301",  # not in NFC
        "é",
        "\ufb01x",  # a ligature
        "a\u00adb",  # a soft hyphen
        "\u0663",  # an Arabic-Indic digit
        "corp",
        "test",
        "x_y",
        "-ab",
    ]
)
#: the dots of UTS-46: only the first one separates labels for pip
DOTS = st.sampled_from([".", ".", ".", "\uff0e", "\u3002", "\uff61"])


@st.composite
def unicode_names(draw: st.DrawFn) -> str:
    labels = draw(st.lists(ULABELS, min_size=1, max_size=3))
    name = labels[0]
    for label in labels[1:]:
        name += draw(DOTS) + label
    return name + draw(st.sampled_from(["", "", "."]))


@settings(max_examples=400, deadline=None)
@given(name=unicode_names())
def test_a_name_is_matched_as_pip_encodes_it(name: str) -> None:
    """ß, ς, ZWJ/ZWNJ, full-width dots and letters, mixed case: the entry is pip's A-label,
    or refused when pip cannot connect to a URL naming it."""
    expected = pip_host(name)
    try:
        (entry,) = table(f"{name} /n.pem").entries
    except ShimError as error:
        assert "\n" not in str(error)
        if expected is not None:  # pip would connect: only the shim's ASCII label rules refuse
            with pytest.raises(ShimError):
                table(f"{expected} /n.pem")
        return
    assert expected is not None, f"{name!r} accepted as {entry.pattern.name!r}; pip refuses it"
    assert entry.pattern.name == expected
    assert table(f"{name} /n.pem").match(expected, 443) == (entry,)
    assert hosts.normalise(name) == expected  # a connection's host, as pip would encode it
    wildcard = table(f"*.{name} /w.pem")
    assert [e.path for e in wildcard.match(f"a.{expected}", 443)] == ["/w.pem"]
    assert wildcard.match(expected, 443) == ()


@pytest.mark.parametrize(
    "written, a_label",
    [
        ("straße.test", "xn--strae-oqa.test"),
        ("STRAßE.Test.", "xn--strae-oqa.test"),
        ("ςa.test", "xn--a-xmb.test"),
        ("bücher.example:8443", "xn--bcher-kva.example"),
        ("*.bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_a_unicode_entry_is_its_a_label_and_says_how_it_was_written(
    written: str, a_label: str
) -> None:
    (entry,) = table(f"{written} /ca.pem").entries
    assert entry.pattern.name == a_label == pip_host(written.lstrip("*."))
    assert entry.shown() == f"{entry.pattern.shown()} (written {written!r}) -> /ca.pem"
    assert "strasse" not in entry.shown() or "strasse" in written
    assert table(f"{written} /ca.pem").match("strasse.test", 443) == ()


def test_an_ascii_entry_is_shown_as_matched(tmp_path: pathlib.Path) -> None:
    (entry,) = table("pypi.corp.example:8443 /ca.pem").entries
    assert entry.shown() == "pypi.corp.example:8443 -> /ca.pem"


def test_without_pips_idna_a_unicode_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never Python's IDNA 2003 codec instead: one line, naming the entry."""
    monkeypatch.setitem(sys.modules, "pip._vendor.idna", None)  # import fails
    with pytest.raises(ShimError) as caught:
        table("pypi.corp.example /a.pem", "straße.test /b.pem")
    message = str(caught.value)
    assert message.startswith("pip-trustshim: trustshim.host-ca = 'straße.test /b.pem'")
    assert "pip._vendor.idna" in message and "\n" not in message
    assert table("pypi.corp.example /a.pem").entries  # ASCII names need no encoder
    assert hosts.normalise("straße.test") == "straße.test"  # matches nothing
    assert table("*.test /a.pem").match("straße.test", 443) == ()


def test_the_package_never_uses_pythons_idna_codec() -> None:
    package = pathlib.Path(hosts.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert '"idna"' not in text and "'idna'" not in text, source
        assert "encodings.idna" not in text and "encodings import idna" not in text, source


# ----------------------------------------------------------------------- scale


#: HOSTs, separators and paths, common and not, valid and not
ODD_HOSTS = st.sampled_from(
    [
        "pypi.corp.test",
        "PyPI.Corp.Test",
        "b0.corp.test:8443",
        "*.corp.test",
        "*.Corp.test:443",
        "x-1.int_ra",
        "_x.test",
        "a.b.",
        "a.b.:80",
        "*.0.1",
        "x:08443",
        "x:0",
        "x:65535",
        "x:65536",
        "x:99999",
        "127.0.0.1",
        "1a",
        "a.1",
        "[::1]:443",
        "-a.test",
        "a-.test",
        "a..b",
        "a" * 63 + ".test",
        "a" * 64 + ".test",
        ".".join(["a" * 63] * 4),
        "straße.test",
        "\uff43orp.test",
        "x/y",
        "https://x",
        "*",
        "*.",
        "a.*.b",
        "a:1:2",
        "a.b:",
        "a[b",
    ]
)
ODD_SEPARATORS = st.sampled_from([" ", "  ", "\t", " = ", "=", "\r ", "\x1c", "\xa0", "\u3000"])
ODD_PATHS = st.sampled_from(["/ca.pem", "/a b.pem", "~/ca.pem", "$HOME/x", "/é.pem", "/x=y", ""])
ODD_ENDS = st.sampled_from(["\n", ";", "\n\n", " ;\n ", "\r\n", "\n\t", "\n \n"])


@settings(max_examples=400, deadline=None)
@given(
    rows=st.lists(st.tuples(ODD_HOSTS, ODD_SEPARATORS, ODD_PATHS, ODD_ENDS), max_size=6),
    hosts_to_match=st.lists(st.one_of(NAMES, IPS, ODD_HOSTS), max_size=4),
)
def test_the_common_form_is_read_as_the_general_way_reads_it(
    rows: List[Tuple[str, str, str, str]], hosts_to_match: List[str]
) -> None:
    """parse() reads a table written the common way as a whole; entry by entry, every
    table reads the same (the same entries, matches and errors)."""
    setting = Setting("host-ca", "".join("".join(row) for row in rows), "test")
    try:
        general: Optional[hosts.Table] = hosts.Table(
            setting, [hosts._make(written, setting) for written in hosts._segments(setting.value)]
        )
        error = ""
    except ShimError as raised:
        general, error = None, str(raised)
    try:
        parsed = hosts.parse(setting)
    except ShimError as raised:
        assert str(raised) == error
        return
    assert general is not None, error
    assert parsed.entries == general.entries
    assert [e.pattern.written for e in parsed.entries] == [
        e.pattern.written for e in general.entries
    ]
    for host in hosts_to_match:
        for port in (443, 8443):
            assert parsed.match(name_of(host), port) == general.match(name_of(host), port)
    assert parsed.files() == general.files()
    assert parsed.repeated() == general.repeated()


def test_the_common_form_and_the_general_way_agree_on_a_large_table() -> None:
    lines = [f"b{n}.corp.test:{8000 + n % 500} /ca/{n % 3}.pem" for n in range(3000)]
    lines += [f"*.w{n}.corp.test /ca/w.pem" for n in range(3000)]
    lines += ["b7.corp.test:8007 /ca/again.pem"]  # a HOST written twice: they add up
    setting = Setting("host-ca", "\n".join(lines), "test")
    common = hosts.parse(setting)
    assert hosts._parse_common(setting) is not None  # read as a whole
    assert common._made == [None] * len(lines)  # no entry made yet
    general = hosts.Table(setting, [hosts._make(line, setting) for line in lines])
    assert common.entries == general.entries
    for host, port in [("b7.corp.test", 8007), ("x.w9.corp.test", 443), ("b7.corp.test", 443)]:
        assert common.match(host, port) == general.match(host, port)
    assert [e.path for e in common.match("b7.corp.test", 8007)] == ["/ca/1.pem", "/ca/again.pem"]
    assert list(common.files()) == [
        "/ca/0.pem",
        "/ca/1.pem",
        "/ca/2.pem",
        "/ca/w.pem",
        "/ca/again.pem",
    ]
    assert common.files()["/ca/w.pem"].written == "*.w0.corp.test /ca/w.pem"
    # Spaces, tabs and blank lines around the entries: still read as a whole.
    loose = Setting(
        "host-ca", "\n\n" + "\n".join(f"  {line.replace(' ', chr(9))} ;" for line in lines), "t"
    )
    assert hosts._parse_common(loose) is not None
    assert [e.written for e in hosts.parse(loose).entries] == [
        line.replace(" ", "\t") for line in lines
    ]


def test_matching_takes_the_same_lookups_whatever_the_size_of_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: List[str] = []
    lookup = hosts.Table._lookup

    def counted(self: hosts.Table, key: str) -> Tuple[hosts.Entry, ...]:
        calls.append(key)
        return lookup(self, key)

    monkeypatch.setattr(hosts.Table, "_lookup", counted)
    counts = []
    for size in (10, 10000):
        big = table(*(f"h{n}.corp.test /ca.pem" for n in range(size)), "*.corp.test /w.pem")
        calls.clear()
        assert [e.path for e in big.match("x.y.corp.test", 443)] == ["/w.pem"]
        counts.append(len(calls))
    # the host, then each name above it (y.corp.test, corp.test): with the port, then without
    assert counts[0] == counts[1] == 6


def test_a_file_named_by_many_entries_is_checked_and_loaded_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    cas = []
    for n in range(3):
        ca = tmp_path / f"ca{n}.pem"
        ca.write_text("not read here\n")
        cas.append(ca)
    value = "\n".join(f"h{n}.corp.test {cas[n % 3]}" for n in range(10000))
    checked: List[str] = []
    loaded: List[str] = []
    check_path = trust._check_path

    def check(entry: hosts.Entry, directory_ok: bool) -> None:
        checked.append(entry.path)
        check_path(entry, directory_ok=directory_ok)

    monkeypatch.setattr(trust, "_check_path", check)
    monkeypatch.setattr(trust, "load_entry", lambda entry: loaded.append(entry.path))
    settings = Settings(
        Setting("enabled", "1", "test"),
        Setting("store", "certifi", "test"),
        Setting("extra-ca", "", "test"),
        False,
        host_ca=Setting("host-ca", value, "test"),
    )
    shim = trust.Trust(settings)
    shim.load_entries()
    assert checked == loaded == [str(ca) for ca in cas]
    assert sum(entry is not None for entry in shim.host_ca._made) == 3  # made: the first of each
