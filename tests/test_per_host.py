"""End to end: per-host trust (``host-ca``) and client certificates
(``host-client-cert``), docs/specification.md "What is trusted".

Real pip against loopback TLS servers signed by different CAs: each host
trusts only its own entry's bundles, every other host the general rule and
never an entry's bundle. Names other than localhost come from a CONNECT proxy
that maps them to loopback ports (no change to the machine's name lookup).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from lib.dists import make_sdist, make_wheel
from lib.pki import Pki
from lib.running import (
    UNKNOWN_ISSUER,
    assert_downloaded,
    assert_refused,
    assert_shim_error,
    cli,
    download,
    shim,
)
from lib.servers import ConnectProxy, TlsIndex
from lib.venvs import Venv


def entries(*pairs: object) -> str:
    """A table for the environment: ``HOST PATH`` entries separated by ';'."""
    return "; ".join(f"{host} {path}" for host, path in zip(pairs[::2], pairs[1::2]))


def on(store: Path, host_ca: str = "", client: str = "", **more: str) -> Dict[str, str]:
    env = shim(str(store), **more)
    if host_ca:
        env["PIP_TRUSTSHIM_HOST_CA"] = host_ca
    if client:
        env["PIP_TRUSTSHIM_HOST_CLIENT_CERT"] = client
    return env


# ---------------------------------------------------------------- each host its own


def test_a_listed_host_trusts_only_its_entry(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki, dists: Path
) -> None:
    """index: the corp CA (the store); other_index: the other CA (its entry only)."""
    listed = entries(f"localhost:{other_index.port}", pki.other_ca_pem)
    env = on(pki.ca_pem, listed)
    assert_downloaded(download(venv, home, other_index.url, env=env), home)
    assert_downloaded(download(venv, home, index.url, env=env), home)
    # The entry's CA is refused for every other host (another port, the same CA).
    with TlsIndex(pki, dists, leaf="unknown-ca") as unlisted:
        assert_refused(download(venv, home, unlisted.url, env=env), home, UNKNOWN_ISSUER)
    # For the listed host: not the store, nor the extra CAs, nor pip's own bundles.
    listed = entries(f"localhost:{index.port}", pki.other_ca_pem)
    for more, args in (
        ({}, []),
        ({"PIP_TRUSTSHIM_EXTRA_CA": str(pki.ca_pem)}, []),
        ({"REQUESTS_CA_BUNDLE": str(pki.ca_pem)}, ["--cert", str(pki.ca_pem)]),
    ):
        proc = download(venv, home, index.url, env=on(pki.ca_pem, listed, **more), args=args)
        assert_refused(proc, home, UNKNOWN_ISSUER)


def test_the_most_specific_entry_wins(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    """host with port, then host; and a name is not its address."""
    listed = entries("localhost", pki.ca_pem, f"localhost:{other_index.port}", pki.other_ca_pem)
    env = on(pki.other_ca_pem, listed)  # the store trusts neither index
    assert_downloaded(download(venv, home, other_index.url, env=env), home)
    assert_downloaded(download(venv, home, index.url, env=env), home)
    # 127.0.0.1 is another host: the general rule (the other CA) decides there.
    assert_refused(download(venv, home, index.ip_url, env=env), home, UNKNOWN_ISSUER)
    listed = entries("127.0.0.1", pki.ca_pem, "localhost", pki.other_ca_pem)
    env = on(pki.other_ca_pem, listed)
    assert_downloaded(download(venv, home, index.ip_url, env=env), home)
    assert_refused(download(venv, home, index.url, env=env), home, UNKNOWN_ISSUER)


def test_entries_for_one_host_add_up_and_names_ignore_case(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    listed = entries("LOCALHOST.", pki.other_ca_pem, "localhost", pki.ca_pem)
    env = on(pki.proxy_ca_pem, listed)
    assert_downloaded(download(venv, home, index.url, env=env), home)
    assert_downloaded(download(venv, home, other_index.url, env=env), home)


# ------------------------------------------------------------------- wildcards


@pytest.fixture
def corp(pki: Pki, dists: Path) -> Iterator[Dict[str, TlsIndex]]:
    """Servers for names under corp.test, two CAs, reached through a proxy that knows them."""
    names = {
        "pypi.corp.test": pki.ca,
        "a.build.corp.test": pki.other_ca,
        "x.a.build.corp.test": pki.other_ca,
        "build.corp.test": pki.other_ca,
    }
    servers = {
        name: TlsIndex(pki, dists, context=pki.named_context(ca, name))
        for name, ca in names.items()
    }
    try:
        yield servers
    finally:
        for server in servers.values():
            server.close()


def test_wildcards_match_every_host_below_a_name(
    venv: Venv, home: Path, pki: Pki, corp: Dict[str, TlsIndex]
) -> None:
    aliases = {name: server.port for name, server in corp.items()}
    with ConnectProxy(aliases=aliases) as proxy:

        def fetch(name: str, env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
            url = f"https://{name}:{corp[name].port}/simple/"
            return download(venv, home, url, env={**env, "HTTPS_PROXY": proxy.url})

        env = on(pki.ca_pem, entries("*.build.corp.test", pki.other_ca_pem))
        assert_downloaded(fetch("a.build.corp.test", env), home)
        assert_downloaded(fetch("x.a.build.corp.test", env), home)  # any depth below
        assert_downloaded(fetch("pypi.corp.test", env), home)  # no entry: the store
        # *.NAME is not NAME itself: the general rule decides there.
        assert_refused(fetch("build.corp.test", env), home, UNKNOWN_ISSUER)
        # The longest wildcard wins, and a host entry beats any wildcard.
        env = on(
            pki.ca_pem,
            entries(
                "*.corp.test",
                pki.ca_pem,
                "*.build.corp.test",
                pki.other_ca_pem,
                "a.build.corp.test",
                pki.ca_pem,
            ),
        )
        assert_downloaded(fetch("x.a.build.corp.test", env), home)
        assert_refused(fetch("a.build.corp.test", env), home, UNKNOWN_ISSUER)
        assert_refused(fetch("build.corp.test", env), home, UNKNOWN_ISSUER)
        assert f"a.build.corp.test:{corp['a.build.corp.test'].port}" in proxy.tunnels


# ------------------------------------------------------------ names outside ASCII


@pytest.fixture
def idn(pki: Pki, dists: Path) -> Iterator[Dict[str, TlsIndex]]:
    """straße.test (as pip connects to it: xn--strae-oqa.test) and strasse.test, which
    Python's IDNA 2003 codec would make of it: two servers, both certified by the other CA."""
    names = ("xn--strae-oqa.test", "strasse.test")
    servers = {
        name: TlsIndex(pki, dists, context=pki.named_context(pki.other_ca, name)) for name in names
    }
    try:
        yield servers
    finally:
        for server in servers.values():
            server.close()


def test_a_unicode_host_entry_is_matched_as_pip_encodes_the_url(
    venv: Venv, home: Path, pki: Pki, idn: Dict[str, TlsIndex]
) -> None:
    """The entry straße.test names the host pip connects to, xn--strae-oqa.test (IDNA
    2008), and nothing else: not strasse.test (IDNA 2003)."""
    aliases = {name: server.port for name, server in idn.items()}
    with ConnectProxy(aliases=aliases) as proxy:

        def fetch(
            name: str, port: int, env: Dict[str, str], args: Optional[List[str]] = None
        ) -> subprocess.CompletedProcess[str]:
            url = f"https://{name}:{port}/simple/"
            return download(venv, home, url, env={**env, "HTTPS_PROXY": proxy.url}, args=args)

        port = idn["xn--strae-oqa.test"].port
        listed = entries("straße.test", pki.other_ca_pem)
        # The URL as written by a person: the entry's CA is trusted, and only it.
        assert_downloaded(fetch("straße.test", port, on(pki.ca_pem, listed)), home)
        assert_refused(fetch("straße.test", port, on(pki.ca_pem)), home, UNKNOWN_ISSUER)
        only_corp = entries("straße.test", pki.ca_pem)
        proc = fetch("straße.test", port, on(pki.other_ca_pem, only_corp))  # not the store
        assert_refused(proc, home, UNKNOWN_ISSUER)
        # The entry in other case, the URL with the A-label: the same host.
        listed_upper = entries("STRAßE.Test.", pki.other_ca_pem)
        proc = fetch("xn--strae-oqa.test", port, on(pki.ca_pem, listed_upper))
        assert_downloaded(proc, home)
        # strasse.test is another host: the entry's CA is not trusted there.
        other = idn["strasse.test"].port
        assert_refused(fetch("strasse.test", other, on(pki.ca_pem, listed)), home, UNKNOWN_ISSUER)
        assert f"xn--strae-oqa.test:{port}" in proxy.tunnels
        assert f"strasse.test:{other}" in proxy.tunnels
        # pip -v and status show the host as matched, and as written.
        shown = f"xn--strae-oqa.test (written 'straße.test') -> {pki.other_ca_pem}"
        proc = fetch("straße.test", port, on(pki.ca_pem, listed), args=["-v"])
        assert shown in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        status = cli(venv, ["status"], home, on(pki.ca_pem, listed)).stdout
        assert f"  host-ca: {shown}  [" in status, status


# ----------------------------------------------------- each connection judged by its host


def test_files_on_another_host_are_judged_by_that_host(
    venv: Venv, home: Path, pki: Pki, dists: Path, other_index: TlsIndex
) -> None:
    """An index whose links point to a file server elsewhere: two hosts, two rules."""
    files = other_index.url.replace("/simple/", "/files/")
    with TlsIndex(pki, dists, files_url=files) as pages:
        listed = entries(f"localhost:{other_index.port}", pki.other_ca_pem)
        assert_downloaded(download(venv, home, pages.url, env=on(pki.ca_pem, listed)), home)
        assert pages.requests == ["/simple/tinypkg/"]
        assert other_index.requests == ["/files/tinypkg-1.0-py3-none-any.whl"]
        # Without the entry, the file's host has only the store (the corp CA): refused.
        proc = download(venv, home, pages.url, env=on(pki.ca_pem))
        assert_refused(proc, home, UNKNOWN_ISSUER)


def test_through_a_connect_proxy_the_target_decides(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    with ConnectProxy() as proxy:
        listed = entries(f"localhost:{other_index.port}", pki.other_ca_pem)
        env = on(pki.ca_pem, listed, HTTPS_PROXY=proxy.url)
        assert_downloaded(download(venv, home, other_index.url, env=env), home)
        assert_downloaded(download(venv, home, index.url, env=env), home)
        listed = entries(f"localhost:{index.port}", pki.other_ca_pem)
        env = on(pki.ca_pem, listed, HTTPS_PROXY=proxy.url)
        assert_refused(download(venv, home, index.url, env=env), home, UNKNOWN_ISSUER)
        assert len(proxy.tunnels) == 3


def test_an_https_proxy_is_judged_by_its_own_host(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """The proxy's own TLS: its host's entry; the tunnel's target: its own rule."""
    with ConnectProxy(tls=pki.proxy_context()) as proxy:
        listed = entries(f"localhost:{proxy.port}", pki.proxy_ca_pem)
        env = on(pki.ca_pem, listed, HTTPS_PROXY=proxy.url)
        assert_downloaded(download(venv, home, index.url, env=env), home)
        # The proxy's CA as an entry for another host does not make the proxy trusted.
        listed = entries("elsewhere.test", pki.proxy_ca_pem)
        env = on(pki.ca_pem, listed, HTTPS_PROXY=proxy.url)
        refused = len(proxy.handshake_errors)
        proc = download(venv, home, index.url, env=env)
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert not list((home / "downloads").glob("*.whl"))
        assert len(proxy.handshake_errors) > refused and len(proxy.tunnels) == 1


# ------------------------------------------------------------ client certificates


def test_a_host_client_cert_goes_to_its_host_only(
    venv: Venv, home: Path, pki: Pki, dists: Path
) -> None:
    mine = pki.client_cert_pem("per-host client")
    pips = pki.client_cert_pem("pip's own client")
    with TlsIndex(pki, dists, require_client_cert=True) as guarded, TlsIndex(
        pki, dists, ask_client_cert=True
    ) as curious:
        client = entries(f"localhost:{guarded.port}", mine)
        env = on(pki.ca_pem, client=client)
        assert_downloaded(download(venv, home, guarded.url, env=env), home)
        assert guarded.client_names and set(guarded.client_names) == {"per-host client"}
        assert_downloaded(download(venv, home, curious.url, env=env), home)
        assert curious.client_names == []  # nothing presented to the other host
        # pip's own --client-cert still goes to every other host, never to the listed one.
        args = ["--client-cert", str(pips)]
        assert_downloaded(download(venv, home, curious.url, env=env, args=args), home)
        assert set(curious.client_names) == {"pip's own client"}
        assert_downloaded(download(venv, home, guarded.url, env=env, args=args), home)
        assert set(guarded.client_names) == {"per-host client"}


# ------------------------------------------------------------- build isolation


def test_build_subprocesses_get_the_same_table(
    venv: Venv, home: Path, pki: Pki, tmp_path: Path
) -> None:
    dists = tmp_path / "build-dists"
    make_sdist(dists, "needsbuild", "1.0", ["builddep"])
    make_wheel(dists, "builddep", "1.0")
    with TlsIndex(pki, dists, leaf="unknown-ca") as build_index:
        listed = entries(f"localhost:{build_index.port}", pki.other_ca_pem)
        out = home / "wheels"
        command = ["wheel", "--no-deps", "--retries", "0", "--index-url", build_index.url]
        proc = venv.pip([*command, "-w", str(out), "needsbuild"], home, env=on(pki.ca_pem, listed))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert any("builddep" in path for path in build_index.requests), build_index.requests


# ------------------------------------------------------------------- bad entries


#: (the entry, with {home} and {ca} to fill in; words its one-line error holds)
BAD_ENTRIES = [
    ("pypi.corp.test", "write HOST PATH or HOST=PATH"),
    ("pypi.corp.test {home}/missing.pem", "no such file"),
    ("pypi.corp.test {home}/empty.pem", "the file is empty"),
    ("-pypi.corp.test {ca}", "is not a host name"),
    ("pypi.corp.test:99999 {ca}", "the port must be a number from 1 to 65535"),
    ("::1 {ca}", "IPv6 address in brackets"),
    ("*.0.1 {ca}", "a wildcard goes before a host name, not an address"),
    ("https://pypi.corp.test/simple {ca}", "HOST is a host name, not a URL: give the host name"),
    ("pypi\u200d.corp.test {ca}", "pip cannot encode 'pypi\\u200d'"),
]


@pytest.mark.parametrize("template, words", BAD_ENTRIES)
def test_a_bad_entry_stops_pip_before_any_connection(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki, template: str, words: str
) -> None:
    (home / "empty.pem").write_text("")
    value = template.format(home=home, ca=pki.ca_pem)
    good = f"localhost:1 {pki.ca_pem}"
    proc = download(venv, home, index.url, env=on(pki.ca_pem, f"{good}; {value}"))
    where = "environment variable PIP_TRUSTSHIM_HOST_CA"
    assert_shim_error(proc, index, f"trustshim.host-ca = {value!r} (from {where})", words)
    conf = home / "pip.conf"
    conf.write_text(f"[trustshim]\nenabled = yes\nhost-client-cert =\n    {value}\n")
    proc = download(venv, home, index.url, config_file=str(conf))
    assert_shim_error(proc, index, f"trustshim.host-client-cert = {value!r}", str(conf), words)


# ----------------------------------------------------------------- command line


def cautions(report: Dict[str, object]) -> List[str]:
    """The warnings of a ``status --json`` report about client certificates."""
    found = report["warnings"]
    assert isinstance(found, list)
    return [str(line) for line in found if str(line).startswith("host-client-cert ")]


def test_status_cautions_about_a_client_certificate_behind_a_proxy(
    venv: Venv, home: Path, pki: Pki
) -> None:
    """A client certificate reaches its server through a proxy only if the proxy splices
    the connection: said for each entry whose host pip reaches through one, not for a
    host no_proxy names, nor for the proxy's own host."""
    client = pki.client_cert_pem()
    table = entries(
        "pypi.corp.test",
        client,
        "*.build.test",
        client,
        "nearby.test",
        client,
        "proxy.corp.test:3128",
        client,
    )
    proxy = "https://user:secret@proxy.corp.test:3128"
    env = on(pki.ca_pem, client=table, HTTPS_PROXY=proxy, NO_PROXY="nearby.test")
    report = json.loads(cli(venv, ["status", "--json"], home, env).stdout)
    caution = (
        "pip reaches it through the proxy https://proxy.corp.test:3128 (environment variable "
        "HTTPS_PROXY); the server gets the certificate only if the proxy passes that "
        "connection through without decrypting it (splice); a proxy that decrypts it gets "
        "the certificate instead, or nobody does"
    )
    assert cautions(report) == [
        f"host-client-cert pypi.corp.test: {caution}",
        f"host-client-cert *.build.test: {caution}",
    ]
    text = cli(venv, ["status"], home, env).stdout
    assert f"  warning: host-client-cert pypi.corp.test: {caution}" in text.splitlines()
    assert "secret" not in text
    quiet = on(pki.ca_pem, client=table)  # no proxy
    assert cautions(json.loads(cli(venv, ["status", "--json"], home, quiet).stdout)) == []
    by_pip = on(pki.ca_pem, client=entries("pypi.corp.test", client), PIP_PROXY="squid.test:3128")
    (line,) = cautions(json.loads(cli(venv, ["status", "--json"], home, by_pip).stdout))
    assert "the proxy squid.test:3128 (environment variable PIP_PROXY)" in line, line


def test_status_lists_the_table(venv: Venv, home: Path, pki: Pki) -> None:
    listed = entries("pypi.corp.test", pki.ca_pem, "*.build.corp.test:8443", pki.other_ca_pem)
    env = on(pki.ca_pem, listed, client=entries("pypi.corp.test", pki.client_cert_pem()))
    report = json.loads(cli(venv, ["status", "--json"], home, env).stdout)
    source = "environment variable PIP_TRUSTSHIM_HOST_CA"
    assert report["hosts"] == [
        {
            "setting": "host-ca",
            "host": "pypi.corp.test",
            "written": "pypi.corp.test",
            "path": str(pki.ca_pem),
            "source": source,
        },
        {
            "setting": "host-ca",
            "host": "*.build.corp.test:8443",
            "written": "*.build.corp.test:8443",
            "path": str(pki.other_ca_pem),
            "source": source,
        },
        {
            "setting": "host-client-cert",
            "host": "pypi.corp.test",
            "written": "pypi.corp.test",
            "path": str(pki.client_cert_pem()),
            "source": "environment variable PIP_TRUSTSHIM_HOST_CLIENT_CERT",
        },
    ]
    assert report["error"] is None
    text = cli(venv, ["status"], home, env).stdout
    assert f"  host-ca: *.build.corp.test:8443 -> {pki.other_ca_pem}  [{source}]" in text


def test_check_uses_the_entry_and_says_so(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    host = f"localhost:{other_index.port}"
    env = on(pki.ca_pem, entries(host, pki.other_ca_pem))
    args = ["check", "-v", "--package", "tinypkg", other_index.url, index.url]
    proc = cli(venv, args, home, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first, second = proc.stdout.split(f"OK  {index.url}tinypkg/ 200 ")
    assert f"OK  {other_index.url}tinypkg/ 200 (trust: host-ca {host})\n" in first
    assert f"      trusts only host-ca {host} -> {pki.other_ca_pem}" in first
    assert f"        {pki.other_ca_pem} (host-ca {host}): yes\n" in first
    assert "trusts only host-ca" not in second and f"(trust: store {pki.ca_pem})" in second
    # The entry refuses what only the store would accept; no advice to switch stores.
    env = on(pki.ca_pem, entries(f"localhost:{index.port}", pki.other_ca_pem))
    proc = cli(venv, ["check", index.url], home, env)
    failed = f"FAIL  {index.url}pip/: unknown issuer (trust: host-ca localhost:{index.port})\n"
    assert proc.returncode == 1 and failed in proc.stdout, proc.stdout
    assert "would accept it: pip-trustshim enable --store" not in proc.stdout
    written = f"localhost:{index.port} {pki.other_ca_pem}"
    assert f"  hint: this host trusts only its host-ca entry ({written}): put the CA" in proc.stdout
    assert "--extra-ca" not in proc.stdout


def test_the_command_line_loads_every_entry_first(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """pip loads an entry when it first connects to its host; status and check at once."""
    garbage = home / "garbage.pem"
    garbage.write_text("not a certificate\n")
    env = on(pki.ca_pem, entries("pypi.corp.test", garbage))
    status = cli(venv, ["status"], home, env)
    assert (
        f"  error: pip-trustshim: trustshim.host-ca = 'pypi.corp.test {garbage}'" in status.stdout
    )
    proc = cli(venv, ["check", index.url], home, env)
    assert proc.returncode == 2 and "no PEM certificate" in proc.stderr, proc.stderr
    assert index.connections == 0
    # pip itself: hosts without the entry are not stopped by it.
    assert_downloaded(download(venv, home, index.url, env=env), home)


def test_enable_writes_the_tables(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    env = {"XDG_CONFIG_DIRS": str(home / "xdg"), "XDG_CONFIG_HOME": str(home / ".config")}
    host = f"localhost:{other_index.port}"
    args = ["enable", "--store", str(pki.ca_pem), "--host-ca", f"{host}={pki.other_ca_pem}"]
    args += ["--host-ca", f"pypi.corp.test = {pki.ca_pem}"]
    args += ["--host-client-cert", f"pypi.corp.test={pki.client_cert_pem()}"]
    proc = venv.run(["-m", "pip_trustshim", *args], home, env=env, config_file="")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = venv.pip(["config", "get", "trustshim.host-ca"], home, env=env, config_file="")
    assert got.stdout.split() == [host, str(pki.other_ca_pem), "pypi.corp.test", str(pki.ca_pem)]
    proc = download(venv, home, other_index.url, env=env, config_file="")
    assert_downloaded(proc, home)
    # A bad entry is refused before anything is written; disable leaves the tables.
    before = (home / ".config" / "pip" / "pip.conf").read_text()
    bad = ["enable", "--host-ca", f"pypi.corp.test={home}/missing.pem"]
    proc = venv.run(["-m", "pip_trustshim", *bad], home, env=env, config_file="")
    assert proc.returncode == 2 and "(from --host-ca): no such file" in proc.stderr, proc.stderr
    assert (home / ".config" / "pip" / "pip.conf").read_text() == before
    proc = venv.run(["-m", "pip_trustshim", "disable"], home, env=env, config_file="")
    assert proc.returncode == 0, proc.stderr
    assert "host-ca" in (home / ".config" / "pip" / "pip.conf").read_text()
    assert "enabled" not in (home / ".config" / "pip" / "pip.conf").read_text()


def test_a_url_given_as_host_is_refused_before_anything_is_written(
    venv: Venv, home: Path, pki: Pki
) -> None:
    env = {"XDG_CONFIG_DIRS": str(home / "xdg"), "XDG_CONFIG_HOME": str(home / ".config")}
    for value in (f"https://x/={pki.ca_pem}", f"https://pypi.corp.test/simple {pki.ca_pem}"):
        proc = cli_in(venv, ["enable", "--host-ca", value], home, env)
        lines = proc.stderr.splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stdout + proc.stderr
        assert lines[0].startswith(f"pip-trustshim: trustshim.host-ca = {value!r} (from --host-ca)")
        assert lines[0].endswith("HOST is a host name, not a URL: give the host name alone")
    assert not (home / ".config" / "pip" / "pip.conf").exists()


def cli_in(
    venv: Venv, args: List[str], home: Path, env: Dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The command line with only the user's pip.conf under HOME (none at first)."""
    return venv.run(["-m", "pip_trustshim", *args], home, env=env, config_file="")


# ----------------------------------------------------------------------- scale


def test_a_large_table_in_pip_conf(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    """10,000 entries naming two files: pip and status read it, each file once."""
    lines = [
        f"h{n}.corp.test:{1 + n % 9000} {pki.ca_pem if n % 2 else pki.proxy_ca_pem}"
        for n in range(9998)
    ]
    lines += [f"localhost:{other_index.port} {pki.other_ca_pem}", f"*.w.corp.test {pki.ca_pem}"]
    conf = home / "pip.conf"
    table = "\n    ".join(lines)
    conf.write_text(f"[trustshim]\nenabled = yes\nstore = {pki.ca_pem}\nhost-ca =\n    {table}\n")
    assert_downloaded(download(venv, home, other_index.url, config_file=str(conf)), home)
    assert_downloaded(download(venv, home, index.url, config_file=str(conf)), home)
    report = venv.run(["-m", "pip_trustshim", "status", "--json"], home, config_file=str(conf))
    found = json.loads(report.stdout)
    assert found["error"] is None and len(found["hosts"]) == 10000
    assert found["hosts"][-1]["host"] == "*.w.corp.test"
