"""pip as the oracle: the shim accepts exactly what stock pip accepts when it is
given, with ``--cert``, the bundle the contract names for the host.

Each case is a server on loopback with a certificate of one kind
(``lib.pki.KINDS``: good, no SAN, no AKI, expired, a CA without keyUsage...)
from one CA family, naming the host itself or as a wildcard, reached by a
host spelled one way, with or without a ``host-ca`` entry spelled another.
One pip run with the shim on (its store, an extra CA, a ``--cert``, the
table) fetches from every case's index at once;
stock pip (the same venv, ``PIP_TRUSTSHIM=0``) then fetches from each case
with ``--cert`` set to the bundle this module works out on its own: the
entry's bundle when the entry decides the host (written by hand in the
table), else store + extra CA + pip's bundle. Per case, both outcomes are
real (a TLS connection reached the server; accepted means a request was
served) and equal; across the cases, the outcomes are mixed. Every pip mode
the pip has runs: its default, ``--use-deprecated=legacy-certs`` (24.2+),
``--use-feature=truststore`` (22.2 to 24.1, CPython 3.10+).

Host names other than localhost come from a CONNECT proxy that maps them to
loopback ports; localhost and 127.0.0.1 are reached directly.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from lib.pki import KINDS, Kinds, Pki
from lib.running import download, pip_at_least
from lib.servers import ConnectProxy, TlsIndex
from lib.venvs import Venv


@dataclass(frozen=True)
class Case:
    """One server, and how pip reaches it.

    ``url`` is the index URL's host and port as written, ``entry`` the HOST of
    a ``host-ca`` entry ("" for none); in both, ``{port}`` is the server's
    port and ``{other}`` another one. ``matches`` says, by hand, whether the
    entry decides the host. ``wire`` is the name pip connects to, which the
    proxy maps and the certificate names (default: the URL's host in lower
    case, without brackets or a trailing dot): an IDNA spelling is one more
    line, e.g. ``Case("U-label", "entry", entry="straße.corp.test",
    url="straße.corp.test:{port}", matches=True, wire="xn--strae-oqa.corp.test")``.
    """

    name: str
    #: the CA family that issued the server's certificate (see ``BUNDLES``)
    issuer: str
    url: str
    entry: str = ""
    matches: bool = False
    kind: str = "good"
    wire: str = ""
    #: the names the certificate gives, when not the host's own
    names: Tuple[str, ...] = ()

    def spelled(self) -> str:
        """The URL's host as written, without brackets."""
        if self.url.startswith("["):
            return self.url[1:].split("]")[0]
        return self.url.rsplit(":", 1)[0]

    def host(self) -> str:
        """The name (or address) pip connects to and the certificate names."""
        return self.wire or self.spelled().rstrip(".").lower()

    def is_ip(self) -> bool:
        """Whether the URL names an IP address."""
        try:
            ipaddress.ip_address(self.host())
        except ValueError:
            return False
        return True


#: the hosts pip reaches directly (NO_PROXY); the proxy maps every other one
DIRECT = ("localhost", "127.0.0.1")

#: which CA families each bundle holds: the shim's store, its extra CA, the
#: --cert given to pip, and every host-ca entry's bundle ("nobody" is in none)
STORE, EXTRA, PIPS, ENTRY = ("store",), ("extra",), ("pip",), ("entry",)
GENERAL = STORE + EXTRA + PIPS

#: every certificate kind under the general rule, and under an entry
KIND_CASES = [Case(f"{kind}, general", "store", "localhost:{port}", kind=kind) for kind in KINDS]
KIND_CASES += [
    Case(f"{kind}, entry", "entry", "localhost:{port}", "localhost:{port}", True, kind)
    for kind in KINDS
]
#: where the trust comes from
SOURCE_CASES = [
    Case("the extra CA", "extra", "localhost:{port}"),
    Case("pip's --cert", "pip", "localhost:{port}"),
    Case("a CA nobody trusts", "nobody", "localhost:{port}"),
    Case("an entry's CA, unlisted host", "entry", "localhost:{port}"),
    Case("the store, listed host", "store", "localhost:{port}", "localhost:{port}", True),
    Case("pip's --cert, listed host", "pip", "localhost:{port}", "localhost:{port}", True),
]
#: a URL's host against an entry's spelling: the server's CA is the entry's, so
#: the host is accepted exactly when the entry decides it
SPELLING_CASES = [
    Case("entry in capitals", "entry", "c1.corp.test:{port}", "C1.Corp.TEST", True),
    Case("URL in capitals", "entry", "C2.CORP.TEST:{port}", "c2.corp.test", True),
    Case("entry with a trailing dot", "entry", "c3.corp.test:{port}", "c3.corp.test.", True),
    Case("URL with a trailing dot", "entry", "c4.corp.test.:{port}", "c4.corp.test", True),
    Case("entry with the port", "entry", "c5.corp.test:{port}", "c5.corp.test:{port}", True),
    Case("entry with another port", "entry", "c6.corp.test:{port}", "c6.corp.test:{other}"),
    Case("a longer name", "entry", "c7.corp.test.evil.test:{port}", "c7.corp.test"),
    Case("IPv4", "entry", "127.0.0.1:{port}", "127.0.0.1:{port}", True),
    Case("a name is not its address", "entry", "127.0.0.1:{port}", "localhost:{port}"),
    Case("IPv6, spelled out", "entry", "[::1]:{port}", "[0:0:0:0:0:0:0:1]:{port}", True),
    Case("wildcard", "entry", "a.w1.corp.test:{port}", "*.w1.corp.test", True),
    Case("wildcard, any depth", "entry", "a.b.w2.corp.test:{port}", "*.w2.corp.test", True),
    Case("wildcard, not the name", "entry", "w3.corp.test:{port}", "*.w3.corp.test"),
    Case("wildcard, label boundary", "entry", "xw4.corp.test:{port}", "*.w4.corp.test"),
]
#: names outside ASCII: pip connects to the IDNA 2008 A-label of each label
IDNA_CASES = [
    Case(
        "U-label both",
        "entry",
        "straße.i1.test:{port}",
        "straße.i1.test",
        True,
        wire="xn--strae-oqa.i1.test",
    ),
    Case(
        "A-label entry",
        "entry",
        "straße.i2.test:{port}",
        "xn--strae-oqa.i2.test",
        True,
        wire="xn--strae-oqa.i2.test",
    ),
    Case("A-label URL", "entry", "xn--strae-oqa.i3.test:{port}", "straße.i3.test", True),
    Case(
        "U-label in capitals",
        "entry",
        "STRAßE.i4.test:{port}",
        "Straße.i4.test",
        True,
        wire="xn--strae-oqa.i4.test",
    ),
    Case("IDNA 2003's spelling", "entry", "strasse.i5.test:{port}", "straße.i5.test"),
    Case("final sigma", "entry", "σ.i6.test:{port}", "ς.i6.test", wire="xn--4xa.i6.test"),
]
#: how the certificate names the host, where OpenSSL and the matching of urllib3 1.x
#: (pip before 26.1 without truststore) differ: pip's own mode decides
NAMING_CASES = [
    Case("a wildcard over one label", "store", "pypi.n1:{port}", names=("*.n1",)),
    Case("a partial wildcard", "store", "foo.n2.test:{port}", names=("f*.n2.test",)),
    Case("a common name that is an address", "store", "127.0.0.1:{port}", kind="cn-only"),
    Case(
        "a wildcard over one label, entry",
        "entry",
        "pypi.n3:{port}",
        "pypi.n3",
        True,
        names=("*.n3",),
    ),
]
CASES = KIND_CASES + SOURCE_CASES + SPELLING_CASES + IDNA_CASES + NAMING_CASES

#: pip's modes: (name, the options that select it)
MODES = {
    "default": [],
    "legacy-certs": ["--use-deprecated=legacy-certs"],
    "truststore": ["--use-feature=truststore"],
}


def mode_skip(venv: Venv, mode: str) -> str:
    """Why this pip has no such mode ("" when it has)."""
    python = tuple(int(part) for part in venv.python_version.split("."))
    if mode == "legacy-certs" and not pip_at_least(venv, "24.2"):
        return f"--use-deprecated=legacy-certs needs pip >= 24.2 (this is {venv.pip_version})"
    if mode == "truststore" and not (
        pip_at_least(venv, "22.2") and not pip_at_least(venv, "24.2") and python >= (3, 10)
    ):
        return (
            "--use-feature=truststore is a mode of pip 22.2 to 24.1 on CPython 3.10+ "
            f"(this is pip {venv.pip_version} on {venv.python_version})"
        )
    return ""


@dataclass
class Oracle:
    """The running servers, the bundle files, and what every run needs."""

    kinds: Kinds
    servers: Dict[Case, TlsIndex]
    proxy: ConnectProxy
    #: the host-ca table, every entry naming the entry bundle
    table: str

    def url(self, case: Case) -> str:
        port = self.servers[case].port
        return f"https://{case.url.format(port=port)}/simple/"

    def env(self) -> Dict[str, str]:
        return {"HTTPS_PROXY": self.proxy.url, "NO_PROXY": ",".join(DIRECT)}


@pytest.fixture(scope="module")
def oracle(pki: Pki, dists: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Oracle]:
    kinds = Kinds(tmp_path_factory.mktemp("kinds"))
    servers: Dict[Case, TlsIndex] = {}
    try:
        for case in CASES:
            names = [case.host()] + (["localhost"] if case.host() == "127.0.0.1" else [])
            context = kinds.server_context(case.kind, case.issuer, case.names or names)
            servers[case] = TlsIndex(pki, dists, context=context)
        aliases: Dict[str, int] = {}
        for case, server in servers.items():
            if case.host() not in DIRECT:  # the proxy is the DNS of every other name
                for name in {case.host(), case.spelled(), case.spelled().lower()}:
                    assert aliases.setdefault(name, server.port) == server.port, name
        entries = [
            f"{case.entry.format(port=server.port, other=server.port + 1)} {kinds.bundle(*ENTRY)}"
            for case, server in servers.items()
            if case.entry
        ]
        with ConnectProxy(aliases=aliases) as proxy:
            yield Oracle(kinds, servers, proxy, "; ".join(entries))
    finally:
        for server in servers.values():
            server.close()


def outcomes(
    venv: Venv,
    home: Path,
    oracle: Oracle,
    cases: List[Case],
    env: Dict[str, str],
    args: List[str],
) -> Dict[Case, Optional[bool]]:
    """One ``pip download`` from every case's index at once: which accepted it.

    None for a case whose IP address host pip failed on for a reason of its
    own (``PIP_BUGS``: on the line of pip's that names the case's port, or a
    crash that names none, which ends the run): pip has no answer to give
    there. The shim meets them too where it leaves the host name to pip's
    urllib3, exactly as strict as pip.
    """
    servers = [oracle.servers[case] for case in cases]
    before = [(server.connections, len(server.requests)) for server in servers]
    first, *rest = [oracle.url(case) for case in cases]
    extra = [arg for url in rest for arg in ("--extra-index-url", url)]
    proc = download(venv, home, first, {**oracle.env(), **env}, [*args, "--no-cache-dir", *extra])
    out = proc.stdout + proc.stderr
    buggy = [line for line in out.splitlines() if any(bug in line for bug in PIP_BUGS)]
    named = {s.port: any(f":{s.port}/" in line for line in buggy) for s in servers}
    crashed = bool(buggy) and not any(named.values())
    found: Dict[Case, Optional[bool]] = {}
    for case, server, (connections, served) in zip(cases, servers, before):
        if named[server.port] or (crashed and case.is_ip()):
            assert case.is_ip() and not pip_at_least(venv, "26.1"), out
            found[case] = None
            continue
        assert server.connections > connections, (case, "never reached", out)
        found[case] = len(server.requests) > served
    return found


#: how pips with urllib3 1.x (before 26.1) fail on an IP address host for reasons of
#: their own: 22.2 to 26.0 with their truststore context crash when connecting
#: directly, and check "[::1]" as a name inside a CONNECT tunnel; urllib3 before
#: 1.26.5 (pip 20.3) does the latter with its own context too
PIP_BUGS = (
    "check_hostname requires server_hostname",
    "is not valid for '[",
    "hostname '[",
)


def contract_bundle(case: Case) -> Tuple[str, ...]:
    """The CA families the contract says the case's host trusts, worked out from the
    table alone: the entry's bundle when the entry decides the host, else the general rule."""
    return ENTRY if case.matches else GENERAL


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_shim_accepts_exactly_what_pip_does(
    venv: Venv, home: Path, oracle: Oracle, mode: str
) -> None:
    why = mode_skip(venv, mode)
    if why:
        pytest.skip(why)
    args = MODES[mode]
    kinds = oracle.kinds
    given = [*args, "--cert", str(kinds.bundle(*PIPS))]
    got = outcomes(venv, home, oracle, CASES, shim_on(oracle), given)
    # Stock pip, with --cert the bundle the contract names; an IP address host on
    # its own, as pip may fail there for a reason of its own (PIP_BUGS).
    stock: Dict[Case, Optional[bool]] = {}
    for bundle in (GENERAL, ENTRY):
        cases = [case for case in CASES if contract_bundle(case) == bundle]
        given = [*args, "--cert", str(kinds.bundle(*bundle))]
        for group in [[c for c in cases if not c.is_ip()], *[[c] for c in cases if c.is_ip()]]:
            stock.update(outcomes(venv, home, oracle, group, {"PIP_TRUSTSHIM": "0"}, given))
    assert set(stock.values()) >= {True, False}, stock
    differ = [
        f"{case.name} ({case.kind}): pip {_word(stock[case])}, the shim {_word(got[case])}"
        for case in CASES
        if got[case] != expected(case, stock[case], got[case])
    ]
    assert not differ, "\n".join(differ)


def shim_on(oracle: Oracle) -> Dict[str, str]:
    """The shim's settings: the store, the extra CA and the table (``--cert`` is pip's)."""
    return {
        "PIP_TRUSTSHIM": "1",
        "PIP_TRUSTSHIM_STORE": str(oracle.kinds.bundle(*STORE)),
        "PIP_TRUSTSHIM_EXTRA_CA": str(oracle.kinds.bundle(*EXTRA)),
        "PIP_TRUSTSHIM_HOST_CA": oracle.table,
    }


#: the kinds of an https:// proxy's own certificate, each where pip's modes may differ
PROXY_KINDS = ("good", "cn-only", "no-aki", "ca-no-key-usage")


@pytest.mark.parametrize("mode", sorted(MODES))
def test_an_https_proxy_is_judged_as_pip_judges_it(
    venv: Venv, home: Path, oracle: Oracle, mode: str
) -> None:
    """The TLS to an ``https://`` proxy: the shim against stock pip given ``--cert``."""
    why = mode_skip(venv, mode)
    if why:
        pytest.skip(why)
    args = MODES[mode]
    index = next(case for case in CASES if case.name == "good, general")
    url = oracle.url(index)
    general = [*args, "--cert", str(oracle.kinds.bundle(*GENERAL))]
    found: Dict[str, Tuple[bool, bool]] = {}
    for kind in PROXY_KINDS:
        tls = oracle.kinds.server_context(kind, "store", ["localhost"])
        with ConnectProxy(tls=tls) as proxy:
            answers = []
            for env, given in (
                ({"PIP_TRUSTSHIM": "0"}, general),
                (shim_on(oracle), [*args, "--cert", str(oracle.kinds.bundle(*PIPS))]),
            ):
                tunnels = len(proxy.tunnels)
                proc = download(venv, home, url, {**env, "HTTPS_PROXY": proxy.url}, given)
                assert proxy.connections > 0, proc.stdout + proc.stderr
                accepted = len(proxy.tunnels) > tunnels
                assert accepted == (proc.returncode == 0), proc.stdout + proc.stderr
                answers.append(accepted)
            found[kind] = (answers[0], answers[1])
    assert found["good"] == (True, True), found
    differ = {kind: pair for kind, pair in found.items() if pair[0] != pair[1]}
    assert not differ, f"(pip, the shim) accepted: {differ}"


def expected(case: Case, pips: Optional[bool], shims: Optional[bool]) -> Optional[bool]:
    """pip's answer; where pip has none, the contract's for a good certificate (from a
    CA in the bundle the contract names), and nothing to compare for another kind, or
    where the shim shares pip's own failure (it leaves the name to pip's urllib3,
    which on pip 20.3 checks an IPv6 address in a tunnel as the name "[::1]")."""
    if pips is not None:
        return pips
    if shims is None or case.kind != "good" or case.names:
        return shims
    return case.issuer in contract_bundle(case)


def _word(accepted: Optional[bool]) -> str:
    return {True: "accepts", False: "refuses", None: "cannot connect (a bug of pip's own)"}[
        accepted
    ]
