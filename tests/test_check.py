"""End to end: ``pip-trustshim check`` makes the requests ``pip download`` would make.

Real venvs (pip 23.2.1 / CPython 3.11 and pip 26.3 / CPython 3.13, every pair
under ``-m matrix``) against real servers on 127.0.0.1: the fixture index
with each kind of bad certificate, an index that wants a client certificate
the way nginx does, one that wants a password, files on a second host with
another CA, CONNECT proxies (plain, over TLS, and one that bumps TLS like
squid and answers 502), a closed port, a port that never answers.

The pairs at the end are the contract: in the same environment, ``check
--package tinypkg`` exits 0 exactly when ``pip download tinypkg`` succeeds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import trustme

from lib.pki import Pki, dated_ca_pem
from lib.schemas import CLI_DOC, documented_keys, load, validate
from lib.servers import ConnectProxy, TlsIndex
from lib.venvs import Venv
from test_cli import cli, one_error_line, script

ON = {"PIP_TRUSTSHIM": "1"}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound on 127.0.0.1 with nothing listening: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def fingerprint(pem: bytes) -> str:
    """The SHA-256 fingerprint of a PEM certificate, as ``check`` prints it."""
    der = ssl.PEM_cert_to_DER_cert(pem.decode())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def leaf_fingerprint(leaf: trustme.LeafCert) -> str:
    return fingerprint(leaf.cert_chain_pems[0].bytes())


def check(
    venv: Venv,
    home: Path,
    args: List[str],
    env: Optional[Dict[str, str]] = None,
    config_file: Optional[str] = None,
) -> subprocess.CompletedProcess[str]:
    """``pip-trustshim check *args``; it never writes a traceback."""
    proc = cli(venv, ["check", *args], home, env=env, config_file=config_file)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def check_json(
    venv: Venv,
    home: Path,
    args: List[str],
    env: Optional[Dict[str, str]] = None,
    config_file: Optional[str] = None,
) -> Tuple[int, Dict[str, Any]]:
    """``check --json``: the exit status and the report, validated against its schema."""
    proc = check(venv, home, ["--json", *args], env=env, config_file=config_file)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    report: Dict[str, Any] = json.loads(proc.stdout)
    validate(report, "check")
    assert report["ok"] == (proc.returncode == 0)
    return proc.returncode, report


def reads_chain(venv: Venv) -> bool:
    """Whether the venv's Python shows the chain a server sent (3.10+), not only its leaf."""
    return tuple(int(part) for part in venv.python_version.split(".")) >= (3, 10)


ONLY_THE_LEAF = "caution: this Python shows only the server's own certificate, not the chain"


def lines_of(proc: subprocess.CompletedProcess[str]) -> List[str]:
    """The report's request lines (``OK``, ``FAIL``, ``SKIP``), without the details."""
    return [line for line in proc.stdout.splitlines() if line.startswith(("OK ", "FAIL ", "SKIP "))]


# ---------------------------------------------------------------- the basics


def test_one_line_per_request_on_success(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    proc = script(venv, ["check", "--package", "tinypkg", index.url], home, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trust = f"trust: store {pki.ca_pem}"
    assert proc.stdout.splitlines() == [
        "pip-trustshim is on",
        f"OK  https://localhost:{index.port}/simple/tinypkg/ 200 ({trust})",
        f"OK  https://localhost:{index.port}/files/tinypkg-1.0-py3-none-any.whl 200 "
        f"(a file of tinypkg; {trust})",
    ]
    # a real GET of the page, then of the file: the requests pip would make
    assert index.requests == ["/simple/tinypkg/", "/files/tinypkg-1.0-py3-none-any.whl"]


def test_verbose_shows_the_chain_and_each_store(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    proc = check(venv, home, ["-v", "--package", "tinypkg", index.url], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.startswith(f"pip-trustshim is on\n  store: {pki.ca_pem}\n")
    assert f"sha256:  {leaf_fingerprint(pki.leaves['good'])}" in out
    assert "issuer:  O=trustshim corp CA" in out
    assert "        the system store: no, unknown issuer\n" in out
    assert "        certifi: no, unknown issuer\n" in out
    assert f"        {pki.ca_pem} (trustshim.store): yes\n" in out


def test_while_off_it_checks_what_the_shim_would_trust(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """The shim off: pip itself would fail, check says what pip will do once it is on."""
    env = {"PIP_TRUSTSHIM_EXTRA_CA": str(pki.ca_pem)}
    proc = check(venv, home, ["--package", "tinypkg", index.ip_url], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("pip-trustshim is OFF (pip does not use it now")
    assert lines_of(proc)[0] == (
        f"OK  https://127.0.0.1:{index.port}/simple/tinypkg/ 200 (trust: store system + 1 extra CA)"
    )


REASONS = [
    ("expired", "expired", "certificate has expired"),
    ("not-yet-valid", "not yet valid", "certificate is not yet valid"),
    ("wrong-host", "hostname mismatch", "Hostname mismatch"),
    ("unknown-ca", "unknown issuer", "unable to get local issuer certificate"),
    ("self-signed", "self-signed certificate", "self-signed certificate"),
    ("self-signed-chain", "self-signed certificate in chain", "in certificate chain"),
    ("intermediate-missing", "unknown issuer", "unable to get local issuer certificate"),
]


@pytest.mark.parametrize("leaf, reason, openssl", REASONS, ids=[r[0] for r in REASONS])
def test_names_each_certificate_failure(
    venv: Venv, home: Path, pki: Pki, dists: Path, leaf: str, reason: str, openssl: str
) -> None:
    """Each refused certificate: its reason, chain, stores and hint; and pip download
    from that index fails too (check and pip agree)."""
    with TlsIndex(pki, dists, leaf=leaf) as server:
        env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
        proc = check(venv, home, [server.url], env=env)
        downloaded = pip_download(venv, home, {**env, "PIP_INDEX_URL": server.url})
    assert downloaded.returncode == 1, downloaded.stdout + downloaded.stderr
    assert "SSL" in downloaded.stdout + downloaded.stderr
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    page = f"https://localhost:{server.port}/simple/pip/"
    assert f"FAIL  {page}: {reason} (trust: store {pki.ca_pem})\n" in out
    assert openssl.lower() in out.lower()
    assert "      certificates the server sent:\n        [0] subject:" in out
    assert f"sha256:  {leaf_fingerprint(pki.leaves[leaf])}" in out
    assert f"        {pki.ca_pem} (trustshim.store): no," in out
    assert "      hint: " in out


def test_connection_refused(venv: Venv, home: Path, closed_port: int) -> None:
    url = f"https://127.0.0.1:{closed_port}/simple/"
    checked, _ = pair(venv, home, {**ON, "PIP_INDEX_URL": url})
    assert checked.returncode == 1
    assert lines_of(checked) == [f"FAIL  {url}tinypkg/: connection refused (trust: store system)"]
    assert "certificates the server sent" not in checked.stdout


def test_timeout(venv: Venv, home: Path, silent_port: int) -> None:
    url = f"https://localhost:{silent_port}/simple/"
    proc = check(venv, home, ["--timeout", "1", url])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAIL  {url}pip/: timeout " in proc.stdout


def test_a_name_that_cannot_be_resolved_gets_a_hint(venv: Venv, home: Path) -> None:
    proc = check(venv, home, ["https://pypi.nowhere.invalid/simple/"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL  https://pypi.nowhere.invalid/simple/pip/: unknown host" in proc.stdout
    assert "hint: pypi.nowhere.invalid: this name cannot be resolved: check its spelling" in (
        proc.stdout
    )


def test_bad_setting_or_url_is_one_line(
    venv: Venv, home: Path, index: TlsIndex, tmp_path: Path
) -> None:
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(tmp_path / "missing.pem")}
    proc = check(venv, home, [index.url], env=env)
    one_error_line(proc, 2, "trustshim.store", "environment variable PIP_TRUSTSHIM_STORE")
    proc = check(venv, home, [index.url], env={"PIP_TRUSTSHIM": "maybe"})
    one_error_line(proc, 2, "trustshim.enabled = 'maybe'")
    one_error_line(check(venv, home, ["ftp://x/"]), 2, "not an https://, http:// or file:// URL")
    proc = check(venv, home, [index.url], env={"PIP_TIMEOUT": "soon"})
    one_error_line(proc, 2, "pip-trustshim: pip's configuration:", "'soon'")
    assert index.connections == 0


# ------------------------------------------------------- which indexes, which proxy


def test_defaults_to_pips_indexes_and_find_links(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    conf = home / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {index.url}\nextra-index-url = {other_index.url}\n")
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    proc = check(venv, home, ["--package", "tinypkg"], env=env, config_file=str(conf))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert [line.split(" (")[0] for line in lines_of(proc)] == [
        f"OK  {index.url}tinypkg/ 200",
        f"OK  https://localhost:{index.port}/files/tinypkg-1.0-py3-none-any.whl 200",
        f"FAIL  {other_index.url}tinypkg/: unknown issuer",
    ]
    # PIP_INDEX_URL wins over the file, as in pip; PIP_EXTRA_INDEX_URL replaces its list;
    # an https find-links page is read as pip reads it
    env = {**env, "PIP_INDEX_URL": index.ip_url, "PIP_EXTRA_INDEX_URL": index.url}
    env["PIP_FIND_LINKS"] = f"https://localhost:{index.port}/simple/tinypkg/"
    proc = check(venv, home, ["--package", "tinypkg"], env=env, config_file=str(conf))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [line.split(" (")[0].split(" ")[2] for line in lines_of(proc)] == [
        f"{index.ip_url}tinypkg/",
        f"https://127.0.0.1:{index.port}/files/tinypkg-1.0-py3-none-any.whl",
        f"{index.url}tinypkg/",
        f"https://localhost:{index.port}/files/tinypkg-1.0-py3-none-any.whl",
        f"https://localhost:{index.port}/simple/tinypkg/",
        f"https://localhost:{index.port}/files/tinypkg-1.0-py3-none-any.whl",
    ]
    assert other_index.url not in proc.stdout


def test_reads_pips_options_as_pip_install_does(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    """The [install] section counts (pip install reads it), [download] does not."""
    conf = home / "pip.conf"
    conf.write_text(
        f"[global]\nindex-url = {other_index.url}\n\n[install]\nindex-url = {index.url}\n\n"
        f"[download]\nindex-url = {other_index.ip_url}\n"
    )
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    proc = check(venv, home, ["--package", "tinypkg"], env=env, config_file=str(conf))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [line.split(" (")[0] for line in lines_of(proc)] == [
        f"OK  {index.url}tinypkg/ 200",
        f"OK  https://localhost:{index.port}/files/tinypkg-1.0-py3-none-any.whl 200",
    ]


def test_skips_local_indexes(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    """pip takes ``file://`` indexes (this machine's pip.conf lists two): nothing to verify."""
    local = (home / "local index").as_uri()
    conf = home / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {index.url}\nextra-index-url = {local}\n")
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_FIND_LINKS": str(home)}
    proc = check(venv, home, [], env=env, config_file=str(conf))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lines_of(proc)[-2:] == [
        f"SKIP  {local} (a local index: no network)",
        f"SKIP  {home} (a local index: no network)",
    ]


def test_an_http_index_pip_would_ignore_fails(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """pip reads http:// only from localhost and trusted hosts."""
    url = "http://pypi.corp.invalid/simple/"
    proc = check(venv, home, [url])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert lines_of(proc) == [f"FAIL  {url}pip/: insecure index (trust: none, plain http)"]
    assert "hint: pip reads http:// only from localhost and --trusted-host hosts" in proc.stdout


def test_a_trusted_host_is_not_verified_by_pip_nor_by_check(
    venv: Venv, home: Path, other_index: TlsIndex
) -> None:
    env = {**ON, "PIP_TRUSTED_HOST": f"localhost:{other_index.port}"}
    proc = check(venv, home, ["--package", "tinypkg", other_index.url], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(trust: none, a trusted-host: pip does not verify it)" in lines_of(proc)[0]


def test_default_package_on_an_index_without_it(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki, tmp_path: Path
) -> None:
    """The default, pip, is on every index that mirrors PyPI; on a private index without
    it, the first project the index's own page lists stands in, and its newest file is
    checked; an index that lists none passes when its own page answers."""
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    proc = check(venv, home, [index.url], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trust = f"trust: store {pki.ca_pem}"
    assert lines_of(proc) == [
        f"OK  {index.url}pip/ 404 (no project 'pip' on this index; 'tinypkg', the first "
        f"project it lists, stands in for it; {trust})",
        f"OK  {index.url}tinypkg/ 200 ({trust})",
        f"OK  https://localhost:{index.port}/files/tinypkg-1.0-py3-none-any.whl 200 "
        f"(a file of tinypkg; {trust})",
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    with TlsIndex(pki, empty) as bare:
        proc = check(venv, home, [bare.url], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lines_of(proc) == [
        f"OK  {bare.url}pip/ 404 (no project 'pip' on this index (the index page answered "
        f"200); its files host was not checked; {trust})"
    ]
    # a wrong index URL: neither the project nor the index page is there
    wrong = f"https://localhost:{index.port}/simpel/"
    proc = check(venv, home, [wrong], env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAIL  {wrong}pip/ 404: not found" in proc.stdout
    assert f"(no project 'pip', and the index page {wrong} answered: HTTP 404)" in proc.stdout
    # a password in the URL is never shown, in the line or in the words under it
    with_password = wrong.replace("https://", "https://me:s3cret@")
    proc = check(venv, home, [with_password], env=env)
    assert proc.returncode == 1 and "s3cret" not in proc.stdout, proc.stdout
    assert proc.stdout.count("https://me:****@localhost:") == 2
    # a project given that no index has: pip download would not find it
    proc = check(venv, home, ["--package", "nothing-here", index.url], env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.endswith(
        "FAIL  no index lists a file of 'nothing-here': pip download would not find it\n"
    )


def test_through_a_proxy_and_no_proxy(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": index.url}
    with ConnectProxy() as proxy:
        proc = check(venv, home, ["--package", "tinypkg"], env={**env, "HTTPS_PROXY": proxy.url})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"(via {proxy.url}; trust: store {pki.ca_pem})" in lines_of(proc)[0]
        assert proxy.tunnels and set(proxy.tunnels) == {f"localhost:{index.port}"}
        tunnels = len(proxy.tunnels)
        bypass = {**env, "https_proxy": proxy.url, "NO_PROXY": "localhost"}
        proc = check(venv, home, ["--package", "tinypkg"], env=bypass)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "via" not in proc.stdout
        assert len(proxy.tunnels) == tunnels


def test_a_proxy_that_refuses(venv: Venv, home: Path, closed_port: int, index: TlsIndex) -> None:
    with ConnectProxy() as proxy:
        url = f"https://localhost:{closed_port}/simple/"
        proc = check(venv, home, [url], env={"HTTPS_PROXY": proxy.url})
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"FAIL  {url}pip/: proxy refused (via {proxy.url}; " in proc.stdout
        assert f"502 cannot reach localhost:{closed_port}" in proc.stdout
        assert f"to CONNECT localhost:{closed_port}" in proc.stdout
        assert "      answered by: Server: 'BaseHTTP/" in proc.stdout
    gone = f"http://127.0.0.1:{closed_port}"
    proc = check(venv, home, [index.url], env={"HTTPS_PROXY": gone})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAIL  {index.url}pip/: proxy refused (via {gone}; " in proc.stdout
    assert f"cannot connect to the proxy {gone}: connection refused" in proc.stdout
    assert index.connections == 0


def test_suggests_the_store_that_would_accept_the_server(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    env = {**ON, "PIP_TRUSTSHIM_STORE": "certifi", "SSL_CERT_FILE": str(pki.ca_pem)}
    proc = check(venv, home, [index.url], env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"FAIL  {index.url}pip/: unknown issuer (trust: store certifi)\n" in proc.stdout
    hint = "      hint: the system store would accept it: pip-trustshim enable --store system\n"
    assert hint in proc.stdout
    assert "        the system store: yes\n" in proc.stdout
    assert "        certifi: no," in proc.stdout
    assert "caution" not in proc.stdout  # a store here trusts that root already


def test_lists_and_tries_one_bundle_named_three_ways_once(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """The same file as PIP_CERT, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE, as on this machine."""
    named = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    env = {**ON, "PIP_TRUSTSHIM_STORE": "certifi", **{v: str(pki.ca_pem) for v in named}}
    proc = check(venv, home, ["-v", index.url], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sources = " and ".join(f"environment variable {variable}" for variable in named)
    assert proc.stdout.count(f"pip's bundle: {pki.ca_pem}") == 1
    assert f"  pip's bundle: {pki.ca_pem} ({sources})\n" in proc.stdout
    assert "; trust: store certifi + 1 pip bundle)" in proc.stdout
    # tried once, in the one -v detail block
    assert proc.stdout.count(f"        {pki.ca_pem} (") == 1


@pytest.mark.parametrize("variable", ["PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_adds_the_bundles_pip_was_given(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki, variable: str
) -> None:
    env = {**ON, "PIP_TRUSTSHIM_STORE": "certifi", variable: str(pki.ca_pem)}
    proc = check(venv, home, ["-v", index.url], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"  pip's bundle: {pki.ca_pem} (environment variable {variable})\n" in proc.stdout
    assert f"{pki.ca_pem} (environment variable {variable}): yes" in proc.stdout


# ------------------------------------------------- the root, its fingerprint, --save-root


def test_save_root_writes_the_untrusted_root(
    venv: Venv, home: Path, pki: Pki, dists: Path, tmp_path: Path
) -> None:
    root_pem = pki.leaves["self-signed-chain"].cert_chain_pems[1].bytes()
    saved = tmp_path / "saved" / "proxy-root.pem"
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    with TlsIndex(pki, dists, leaf="self-signed-chain") as server:
        args = ["--package", "tinypkg", "--save-root", str(saved), server.url]
        proc = check(venv, home, args, env=env)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        out = proc.stdout
        if not reads_chain(venv):  # Python 3.8/3.9: the leaf only, so no root to save
            assert ONLY_THE_LEAF in out
            assert out.endswith(
                f"--save-root: nothing written to {saved}: no refused chain ended in a root CA "
                "the server sent (ask IT for the root)\n"
            )
            assert not saved.exists()
            return
        caution = (
            "      caution: before you trust the root CA 'O=trustshim intercepting proxy root, "
        )
        assert caution in out
        assert f"compare its SHA-256 fingerprint {fingerprint(root_pem)} with the one" in out
        assert "saved the root CA 'O=trustshim intercepting proxy root, " in out
        assert out.endswith(f"(sha256 {fingerprint(root_pem)}) to {saved}\n")
        assert ssl.PEM_cert_to_DER_cert(saved.read_text()) == ssl.PEM_cert_to_DER_cert(
            root_pem.decode()
        )
        assert oct(saved.stat().st_mode & 0o777) == "0o644"
        assert [p.name for p in saved.parent.iterdir()] == ["proxy-root.pem"]
        # that root, as an extra CA: check and pip both get through
        trusted = {**env, "PIP_TRUSTSHIM_EXTRA_CA": str(saved), "PIP_INDEX_URL": server.url}
        checked, downloaded = pair(venv, home, trusted)
        assert checked.returncode == 0


def test_save_root_with_nothing_to_save(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    saved = home / "root.pem"
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    proc = check(venv, home, ["--save-root", str(saved), index.url], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.endswith(
        f"--save-root: nothing written to {saved}: no certificate was refused (it saves "
        "the root of a chain pip would refuse)\n"
    )
    assert not saved.exists()
    code, report = check_json(venv, home, ["--save-root", str(saved), index.url], env=env)
    assert code == 0 and report["saved_root"] is None


def test_save_root_cannot_write(venv: Venv, home: Path, pki: Pki, dists: Path) -> None:
    if not reads_chain(venv):
        pytest.skip("Python 3.8/3.9 show only the leaf: there is never a root to write")
    blocker = home / "file"
    blocker.write_text("")
    with TlsIndex(pki, dists, leaf="self-signed-chain") as server:
        proc = check(venv, home, ["--save-root", str(blocker / "root.pem"), server.url])
    one_error_line(proc, 2, "pip-trustshim: --save-root: nothing written:")


# ------------------------------------------------------------------ --json


def test_json_follows_its_schema(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki, tmp_path: Path
) -> None:
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    code, report = check_json(venv, home, ["--package", "tinypkg", index.url], env=env)
    assert code == 0
    assert report["schema"] == 1 and report["shim"] == "on" and report["package_found"] is True
    page, file = report["checks"]
    assert (page["kind"], page["result"], page["status"]) == ("index", "ok", 200)
    assert page["trust"] == f"store {pki.ca_pem}" and page["chain"] == []
    assert (file["kind"], file["url"]) == (
        "files",
        f"https://localhost:{index.port}/files/tinypkg-1.0-py3-none-any.whl",
    )
    saved = tmp_path / "root.pem"
    args = ["--save-root", str(saved), "--package", "tinypkg", index.url, other_index.url]
    code, report = check_json(venv, home, args, env={"PIP_TRUSTSHIM_STORE": str(pki.ca_pem)})
    assert code == 1 and report["shim"] == "off" and report["ok"] is False
    failed = report["checks"][-1]
    assert failed["result"] == "fail" and failed["reason"] == "unknown issuer"
    assert failed["failed_leg"] == "server" and failed["status"] is None
    assert failed["chain"][0]["sha256"] == leaf_fingerprint(pki.leaves["unknown-ca"])
    assert {"store": f"{pki.ca_pem} (trustshim.store)", "verdict": "no"}.items() <= (
        failed["stores"][-1].items()
    )
    words = "the server did not send" if reads_chain(venv) else "this Python shows only"
    assert failed["caution"].startswith(words)
    assert report["saved_root"] is None  # the chain has no root: nothing to save
    with ConnectProxy(bump=pki.bump_context()) as bump:
        bumped = {**env, "HTTPS_PROXY": bump.url, "PIP_TRUSTSHIM_EXTRA_CA": str(pki.bump_ca_pem)}
        code, report = check_json(venv, home, [index.url], env=bumped)
    assert code == 1
    (answer,) = report["checks"]
    assert (answer["status"], answer["reason"], answer["proxy"]) == (
        502,
        "a proxy answered",
        bump.url,
    )
    assert answer["headers"]["Via"] == "1.1 bump.corp.test (squid/6.10)"


def test_json_keys_are_documented() -> None:
    """docs/cli.md's two tables list exactly the schema's keys (the report's, and each
    request's), and its text names each certificate's and each store's keys."""
    schema = load("check")
    keys = set(schema["properties"]) | set(schema["$defs"]["check"]["properties"])
    assert documented_keys("check --json") == keys
    doc = CLI_DOC.read_text()
    start = doc.index("\n## check --json\n")
    section = doc[start : doc.index("\n## ", start + 1)]
    nested = [
        *schema["$defs"]["certificate"]["properties"],
        *schema["$defs"]["store"]["properties"],
    ]
    assert [key for key in nested if f"`{key}`" not in section] == []


# --------------------------------------------------------------- escaping


def test_a_servers_words_are_escaped(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    """A proxy's headers reach the terminal with no raw control character."""
    with ConnectProxy(bump=pki.bump_context(), server="squid\x1b[2J\x07") as bump:
        env = {**ON, "HTTPS_PROXY": bump.url, "PIP_TRUSTSHIM_EXTRA_CA": str(pki.bump_ca_pem)}
        proc = check(venv, home, [index.url], env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "Server: 'squid\\x1b[2J\\x07'" in proc.stdout


# ---------------------------------------------------- check and pip agree: pairs


def pip_download(
    venv: Venv, home: Path, env: Dict[str, str], config_file: Optional[str] = None
) -> subprocess.CompletedProcess[str]:
    """``pip download tinypkg`` with pip's own configuration (no --index-url of its own)."""
    dest = home / "downloads"
    shutil.rmtree(dest, ignore_errors=True)
    command = ["download", "--no-deps", "--retries", "0", "--timeout", "20", "-d", str(dest)]
    return venv.pip([*command, "tinypkg"], home, env=env, config_file=config_file)


def pair(
    venv: Venv, home: Path, env: Dict[str, str], config_file: Optional[str] = None
) -> Tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """``check --package tinypkg`` and ``pip download tinypkg`` in one setup: they agree."""
    checked = check(venv, home, ["--package", "tinypkg"], env=env, config_file=config_file)
    downloaded = pip_download(venv, home, env, config_file)
    both = f"--- check\n{checked.stdout}{checked.stderr}--- pip\n{downloaded.stdout}"
    both += downloaded.stderr
    assert checked.returncode in (0, 1), both
    assert (checked.returncode == 0) == (downloaded.returncode == 0), both
    wheel = home / "downloads" / "tinypkg-1.0-py3-none-any.whl"
    assert wheel.is_file() == (downloaded.returncode == 0), both
    return checked, downloaded


def test_pair_a_trusted_and_an_untrusted_index(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": index.url}
    checked, _ = pair(venv, home, env)
    assert checked.returncode == 0
    checked, _ = pair(venv, home, {**env, "PIP_INDEX_URL": other_index.url})
    assert checked.returncode == 1 and ": unknown issuer (" in checked.stdout


def test_pair_a_client_certificate_the_index_requires(
    venv: Venv, home: Path, pki: Pki, dists: Path
) -> None:
    """nginx's way: the handshake completes, then HTTP 400 when no certificate came."""
    with TlsIndex(pki, dists, nginx_client_cert=True) as guarded:
        env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": guarded.url}
        checked, _ = pair(venv, home, env)
        assert checked.returncode == 1
        assert f"FAIL  {guarded.url}tinypkg/ 400: client certificate required (" in checked.stdout
        assert "      (HTTP 400 Bad Request: '400 No required SSL certificate was sent')\n" in (
            checked.stdout
        )
        assert "      answered by: Server: 'nginx'\n" in checked.stdout
        assert "hint: the server asks for a client certificate and none was sent" in (
            checked.stdout
        )
        client = str(pki.client_cert_pem())
        entry = {"PIP_TRUSTSHIM_HOST_CLIENT_CERT": f"localhost:{guarded.port} {client}"}
        checked, _ = pair(venv, home, {**env, **entry})
        assert checked.returncode == 0
        assert f"client cert: host-client-cert localhost:{guarded.port})" in checked.stdout
        checked, _ = pair(venv, home, {**env, "PIP_CLIENT_CERT": client})
        assert checked.returncode == 0
        assert "client cert: pip's client-cert)" in checked.stdout
        assert guarded.client_names.count("trustshim test client") >= 4


def test_pair_an_index_that_wants_a_password(venv: Venv, home: Path, pki: Pki, dists: Path) -> None:
    with TlsIndex(pki, dists, password=("me", "s3cret")) as locked:
        env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": locked.url}
        checked, _ = pair(venv, home, env)
        assert checked.returncode == 1
        assert "401: credentials required" in checked.stdout
        assert "hint: the index wants a user name and password" in checked.stdout
        with_password = locked.url.replace("https://", "https://me:s3cret@")
        checked, _ = pair(venv, home, {**env, "PIP_INDEX_URL": with_password})
        assert checked.returncode == 0
        assert "s3cret" not in checked.stdout
        assert lines_of(checked)[0].startswith(
            f"OK  https://me:****@localhost:{locked.port}/simple/tinypkg/ 200 (trust: "
        )


def test_pair_a_bumping_proxy_that_answers_502(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """squid's ssl-bump, its upstream unreachable: TLS with its forged leaf, then 502."""
    with ConnectProxy(bump=pki.bump_context()) as bump:
        env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": index.url}
        env["HTTPS_PROXY"] = bump.url
        trusted = {**env, "PIP_TRUSTSHIM_EXTRA_CA": str(pki.bump_ca_pem)}
        checked, _ = pair(venv, home, trusted)
        assert checked.returncode == 1
        assert f"FAIL  {index.url}tinypkg/ 502: a proxy answered (via {bump.url}; " in (
            checked.stdout
        )
        assert (
            "      answered by: Server: 'squid/6.10'; Via: '1.1 bump.corp.test (squid/6.10)'; "
            "X-Squid-Error: 'ERR_CONNECT_FAIL 111'\n"
        ) in checked.stdout
        assert "hint: the proxy could not get the page from the index" in checked.stdout
        assert bump.bumped and bump.bumped[0].startswith("GET /simple/tinypkg/ ")
        # its CA not trusted: the forged chain, with the caution and the root to compare
        checked, _ = pair(venv, home, env)
        assert ": self-signed certificate in chain (" in checked.stdout
        root = fingerprint(pki.bump_ca.cert_pem.bytes())
        if reads_chain(venv):
            assert f"compare its SHA-256 fingerprint {root} with the one your IT" in checked.stdout
        else:
            assert ONLY_THE_LEAF in checked.stdout


def test_pair_files_on_another_host_with_another_ca(
    venv: Venv, home: Path, pki: Pki, dists: Path
) -> None:
    """pip's files host (files.pythonhosted.org for PyPI) is checked too."""
    files_ctx = pki.named_context(pki.other_ca, "localhost", "127.0.0.1")
    with TlsIndex(pki, dists, context=files_ctx) as files:
        files_url = f"https://localhost:{files.port}/files/"
        with TlsIndex(pki, dists, files_url=files_url) as index:
            env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": index.url}
            checked, _ = pair(venv, home, env)
            assert checked.returncode == 1
            assert lines_of(checked)[0].startswith(f"OK  {index.url}tinypkg/ 200 ")
            assert lines_of(checked)[1].startswith(
                f"FAIL  {files_url}tinypkg-1.0-py3-none-any.whl: unknown issuer (a file of "
            )
            entry = f"localhost:{files.port} {pki.other_ca_pem}"
            checked, _ = pair(venv, home, {**env, "PIP_TRUSTSHIM_HOST_CA": entry})
            assert checked.returncode == 0
            assert f"trust: host-ca localhost:{files.port})" in lines_of(checked)[1]


def test_pair_pips_proxy_set_in_pip_conf_only(
    venv: Venv, home: Path, pki: Pki, dists: Path, closed_port: int
) -> None:
    """The index has a name only the proxy knows: reachable through pip's proxy alone."""
    conf = home / "pip.conf"
    leaf = pki.named_context(pki.ca, "pypi.corp.test")
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    url = "https://pypi.corp.test/simple/"
    with TlsIndex(pki, dists, context=leaf) as index:
        with ConnectProxy(aliases={"pypi.corp.test": index.port}) as proxy:
            conf.write_text(f"[global]\nindex-url = {url}\nproxy = {proxy.url}\n")
            checked, _ = pair(venv, home, env, config_file=str(conf))
            assert checked.returncode == 0
            # (a global pip.conf may add a bundle: PIP_CONFIG_FILE skips the user files only)
            assert lines_of(checked)[0].startswith(
                f"OK  {url}tinypkg/ 200 (via {proxy.url}; trust: store {pki.ca_pem}"
            )
            assert proxy.tunnels.count("pypi.corp.test:443") >= 2  # check's, then pip's
    gone = f"http://127.0.0.1:{closed_port}"
    conf.write_text(f"[global]\nindex-url = {url}\nproxy = {gone}\n")
    checked, _ = pair(venv, home, env, config_file=str(conf))
    assert checked.returncode == 1 and ": proxy refused (via " in checked.stdout


def test_pair_an_https_proxy(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    """The TLS to the proxy itself is checked with the shim's trust for the proxy's host."""
    with ConnectProxy(tls=pki.proxy_context()) as proxy:
        env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": index.url}
        env["HTTPS_PROXY"] = proxy.url
        checked, _ = pair(venv, home, env)
        assert checked.returncode == 1
        assert f": unknown issuer (via {proxy.url}; trust for the proxy: store " in checked.stdout
        assert f"(the TLS to the proxy {proxy.url}: unable to get local issuer" in checked.stdout
        assert "      certificates the proxy sent:\n" in checked.stdout
        assert "issuer:  O=proxy CA" in checked.stdout
        assert proxy.tunnels == []
        checked, _ = pair(venv, home, {**env, "PIP_TRUSTSHIM_EXTRA_CA": str(pki.proxy_ca_pem)})
        assert checked.returncode == 0
        assert f"OK  {index.url}tinypkg/ 200 (via {proxy.url}; " in checked.stdout


def test_pair_inside_an_https_proxys_tunnel(
    venv: Venv, home: Path, other_index: TlsIndex, pki: Pki
) -> None:
    """The proxy trusted, the server behind it not: the server's chain, fetched through
    the tunnel inside the proxy's TLS."""
    with ConnectProxy(tls=pki.proxy_context()) as proxy:
        env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": other_index.url}
        env.update(HTTPS_PROXY=proxy.url, PIP_TRUSTSHIM_EXTRA_CA=str(pki.proxy_ca_pem))
        checked, _ = pair(venv, home, env)
        assert checked.returncode == 1
        assert f"{other_index.url}tinypkg/: unknown issuer (via {proxy.url}; trust: " in (
            checked.stdout
        )
        assert "issuer:  O=trustshim untrusted CA" in checked.stdout
        assert "issuer:  O=proxy CA" not in checked.stdout


def test_pair_a_proxy_that_wants_a_password(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """A CONNECT answered 407: check names it; with the credentials in the proxy URL, both
    get through."""
    with ConnectProxy(password=("proxyuser", "pr0xy")) as proxy:
        env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": index.url}
        checked, _ = pair(venv, home, {**env, "HTTPS_PROXY": proxy.url})
        assert checked.returncode == 1
        assert f"tinypkg/: proxy credentials required (via {proxy.url}; " in checked.stdout
        assert "hint: the proxy wants a user name and password" in checked.stdout
        assert proxy.tunnels == []
        with_password = proxy.url.replace("http://", "http://proxyuser:pr0xy@")
        checked, _ = pair(venv, home, {**env, "PIP_PROXY": with_password})
        assert checked.returncode == 0
        assert "pr0xy" not in checked.stdout
        assert proxy.tunnels.count(f"localhost:{index.port}") >= 2  # check's, then pip's


def test_pair_no_proxy_and_pips_own_proxy(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki, closed_port: int
) -> None:
    """``NO_PROXY`` spares the index from ``HTTPS_PROXY``; pip's own proxy (``PIP_PROXY``)
    is used whatever ``NO_PROXY`` says, as pip's session does."""
    gone = f"http://127.0.0.1:{closed_port}"
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": index.url}
    env["NO_PROXY"] = "localhost"
    checked, _ = pair(venv, home, {**env, "HTTPS_PROXY": gone})
    assert checked.returncode == 0 and "via" not in lines_of(checked)[0]
    checked, _ = pair(venv, home, {**env, "PIP_PROXY": gone})
    assert checked.returncode == 1 and f": proxy refused (via {gone}; " in checked.stdout


def test_pair_a_trusted_host(venv: Venv, home: Path, other_index: TlsIndex) -> None:
    """pip does not verify a --trusted-host: neither does check, and both get through."""
    env = {**ON, "PIP_INDEX_URL": other_index.url}
    checked, _ = pair(venv, home, env)
    assert checked.returncode == 1 and ": unknown issuer (" in checked.stdout
    checked, _ = pair(venv, home, {**env, "PIP_TRUSTED_HOST": f"localhost:{other_index.port}"})
    assert checked.returncode == 0


def test_pair_a_client_certificate_required_in_the_handshake(
    venv: Venv, home: Path, pki: Pki, dists: Path
) -> None:
    """A server that ends the handshake without a client certificate (a TLS alert, not
    nginx's 400): check names it; with a host-client-cert entry, both get through."""
    with TlsIndex(pki, dists, require_client_cert=True) as guarded:
        env = {**ON, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem), "PIP_INDEX_URL": guarded.url}
        checked, _ = pair(venv, home, env)
        assert checked.returncode == 1
        assert f"FAIL  {guarded.url}tinypkg/: client certificate required (" in checked.stdout
        entry = f"localhost:{guarded.port} {pki.client_cert_pem()}"
        checked, _ = pair(venv, home, {**env, "PIP_TRUSTSHIM_HOST_CLIENT_CERT": entry})
        assert checked.returncode == 0


def test_pair_a_name_that_cannot_be_resolved(venv: Venv, home: Path) -> None:
    env = {**ON, "PIP_INDEX_URL": "https://pypi.nowhere.invalid/simple/"}
    checked, _ = pair(venv, home, env)
    assert checked.returncode == 1 and ": unknown host (" in checked.stdout


def test_warns_as_status_does(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    """A setting's name mistyped, a CA out of date, a bundle others may write: check says
    so, as status does."""
    bundle = home / "corp.pem"
    bundle.write_bytes(pki.ca_pem.read_bytes())
    bundle.chmod(0o666)
    old = dated_ca_pem(home / "old.pem", "Old CA", -400, 30)
    env = {**ON, "PIP_TRUSTSHIM_STORE": str(bundle), "PIP_TRUSTSHIM_STOR": "certifi"}
    env["PIP_TRUSTSHIM_EXTRA_CA"] = str(old)
    proc = check(venv, home, [index.url], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = cli(venv, ["status", "--json"], home, env=env)
    out_of_date = [w for w in json.loads(status.stdout)["warnings"] if "'CN=Old CA'" in w]
    assert len(out_of_date) == 1, status.stdout
    assert proc.stdout.splitlines()[1:4] == [
        "warning: unknown environment variable PIP_TRUSTSHIM_STOR, ignored; did you mean "
        "'PIP_TRUSTSHIM_STORE'?",
        f"warning: {out_of_date[0]}",
        f"warning: {bundle} is writable by group or others: whoever can write it decides "
        "what pip trusts",
    ]
    code, report = check_json(venv, home, [index.url], env=env)
    assert len(report["warnings"]) == 3 and "PIP_TRUSTSHIM_STOR" in report["warnings"][0]
    assert report["warnings"][1] == out_of_date[0]
