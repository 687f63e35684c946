"""End to end: every road pip takes to a server goes through the shim's trust.

Build isolation (each variant pip has had), CONNECT proxies, client
certificates, the self version check, ``pip index``, ``pip list
--outdated``, ``pip wheel``, pip as a zipapp, ``pip --python``, and a pip
whose internals the shim does not recognise. Runs on the default pips; with
``-m matrix`` on every pair of the matrix (pip 20.3 to 26.3, CPython 3.8 to 3.15).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
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
    download,
    pip_at_least,
    shim,
    write_config,
)
from lib.servers import ConnectProxy, TlsIndex
from lib.venvs import Venv, make_venv


@pytest.fixture(scope="module")
def build_dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist whose build requirement exists only on the TLS index, plus that wheel."""
    directory = tmp_path_factory.mktemp("build-dists")
    make_sdist(directory, "needsbuild", "1.0", ["builddep"])
    make_wheel(directory, "builddep", "1.0")
    make_wheel(directory, "tinypkg", "1.0")
    make_wheel(directory, "tinypkg", "2.0")
    make_wheel(directory, "pip", "99.0")
    return directory


@pytest.fixture
def build_index(pki: Pki, build_dists: Path) -> Iterator[TlsIndex]:
    with TlsIndex(pki, build_dists) as idx:
        yield idx


def build(
    venv: Venv,
    home: Path,
    index: TlsIndex,
    env: Dict[str, str],
    args: Optional[List[str]] = None,
    config_file: Optional[str] = None,
) -> subprocess.CompletedProcess[str]:
    """``pip wheel needsbuild``: pip builds the sdist in an isolated build env."""
    out = home / "wheels"
    shutil.rmtree(out, ignore_errors=True)
    command = ["wheel", "--no-deps", "--retries", "0", "--index-url", index.url]
    command += ["-w", str(out), *(args or []), "needsbuild"]
    return venv.pip(command, home, env=env, config_file=config_file)


def assert_built(proc: subprocess.CompletedProcess[str], home: Path, index: TlsIndex) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list((home / "wheels").glob("needsbuild-1.0-*.whl")), proc.stdout
    assert any("builddep" in path for path in index.requests), index.requests


# ------------------------------------------------------------ build isolation


def test_build_isolation_needs_the_shim(
    venv: Venv, home: Path, build_index: TlsIndex, pki: Pki
) -> None:
    """Baseline: the test CA is trusted by nobody but the shim's settings."""
    proc = build(venv, home, build_index, env={})
    assert proc.returncode != 0
    assert UNKNOWN_ISSUER in proc.stdout + proc.stderr


def test_build_isolation_switched_on_by_environment(
    venv: Venv, home: Path, build_index: TlsIndex, pki: Pki
) -> None:
    assert_built(build(venv, home, build_index, env=shim(str(pki.ca_pem))), home, build_index)


def test_build_isolation_switched_on_by_pip_conf(
    venv: Venv, home: Path, build_index: TlsIndex, pki: Pki
) -> None:
    conf = write_config(home / "pip.conf", enabled="yes", store=str(pki.ca_pem))
    proc = build(venv, home, build_index, env={}, config_file=str(conf))
    assert_built(proc, home, build_index)


def test_build_isolation_keeps_a_command_line_cert(
    venv: Venv, home: Path, build_index: TlsIndex, pki: Pki
) -> None:
    """pip < 25.0 does not forward ``--cert`` to its build subprocess; the shim does.

    Only to that subprocess: the build backend, which the parent pip starts with
    its own environment, sees nothing of it.
    """
    args = ["--cert", str(pki.ca_pem)]
    report = home / "backend-environment.txt"
    env = shim("certifi", TINYBACKEND_REPORT=str(report))
    assert_built(build(venv, home, build_index, env=env, args=args), home, build_index)
    assert report.read_text() == "absent"


def test_build_child_reads_its_own_settings(
    venv: Venv, home: Path, build_index: TlsIndex, pki: Pki
) -> None:
    """pip forwards no ``--isolated`` to the pip it starts: that pip reads the
    environment, for its own options and for the shim's settings alike."""
    conf = write_config(home / "pip.conf", enabled="yes", store=str(pki.ca_pem))
    env = {"PIP_TRUSTSHIM_STORE": "/nowhere/ca.pem"}  # the parent, --isolated, ignores it
    proc = build(venv, home, build_index, env=env, args=["--isolated"], config_file=str(conf))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "needsbuild" in " ".join(build_index.requests)  # the parent went on
    assert not any("builddep" in path for path in build_index.requests), build_index.requests
    expected = "trustshim.store = '/nowhere/ca.pem' (from environment variable PIP_TRUSTSHIM_STORE)"
    assert expected in out, out


LEAK = """
import os
from pip._internal.network.session import PipSession
PipSession()
print("_PIP_TRUSTSHIM_INHERITED" in os.environ)
"""


def test_the_hand_down_never_enters_this_process_environment(
    venv: Venv, home: Path, pki: Pki
) -> None:
    for env in ({}, {"PIP_TRUSTSHIM": "0"}, shim(str(pki.ca_pem))):
        proc = venv.run(["-c", LEAK], home, env=env)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "False\n", "")


@pytest.mark.parametrize(
    "value",
    ['{"enabled": ["off", "x"], "store": ["certifi", "x"], "extra-ca": ["", "x"]}', "{not json"],
    ids=["old-format", "not-json"],
)
def test_a_malformed_hand_down(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki, value: str
) -> None:
    inherited = {"_PIP_TRUSTSHIM_INHERITED": value}
    # Off, or never switched on: ignored; pip runs as if the shim were not installed.
    for env in (inherited, {**inherited, "PIP_TRUSTSHIM": "0"}):
        proc = download(venv, home, index.url, env=env, args=["--cert", str(pki.ca_pem)])
        assert_downloaded(proc, home)
    # On: it can never switch the shim off; pip stops with one line instead.
    with TlsIndex(pki, index.dists) as fresh:
        proc = download(venv, home, fresh.url, env=shim(str(pki.ca_pem), **inherited))
        assert_shim_error(proc, fresh, "_PIP_TRUSTSHIM_INHERITED", "malformed")


def test_a_hand_down_only_adds_and_only_from_the_parent(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    """The hand-down adds the parent's bundles, like ``--cert``; nothing else."""

    def inherited(pid: int, *bundles: Path) -> Dict[str, str]:
        found = [[str(path), ["a test"]] for path in bundles]
        value = json.dumps({"pid": pid, "bundles": found})
        return shim(str(pki.ca_pem), _PIP_TRUSTSHIM_INHERITED=value)

    parent = os.getpid()  # the pips below are this process's children
    # From the parent, with no bundles: the child's own store, switched on, still rules.
    assert_downloaded(download(venv, home, index.url, env=inherited(parent)), home)
    proc = download(venv, home, other_index.url, env=inherited(parent))
    assert_refused(proc, home, UNKNOWN_ISSUER)
    # Written by another process (leaked, or set by hand): ignored.
    proc = download(venv, home, other_index.url, env=inherited(1, pki.other_ca_pem))
    assert_refused(proc, home, UNKNOWN_ISSUER)
    # From the parent: its bundles are added.
    proc = download(venv, home, other_index.url, env=inherited(parent, pki.other_ca_pem))
    assert_downloaded(proc, home)


def by_hand(pid: int, *bundles: Path, **more: object) -> str:
    """A hand-down value as a shell could export it (``more``: keys pip never writes)."""
    return json.dumps({"pid": pid, "bundles": [[str(b), ["by hand"]] for b in bundles], **more})


def test_a_hand_down_set_by_hand_does_no_more_than_pip_cert(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki, dists: Path
) -> None:
    """docs/security.md, threat model: a shell that exports ``_PIP_TRUSTSHIM_INHERITED``
    with its own ``$$`` (here: this process, the parent of every pip below) can add a
    CA bundle, as ``PIP_CERT`` can, and nothing more."""
    parent = os.getpid()
    added = {"_PIP_TRUSTSHIM_INHERITED": by_hand(parent, pki.other_ca_pem)}
    cert = {"PIP_CERT": str(pki.other_ca_pem)}
    # What it can do: add a bundle for a host no host-ca entry decides, like PIP_CERT.
    for extra in (added, cert):
        proc = download(venv, home, other_index.url, env=shim(str(pki.ca_pem), **extra))
        assert_downloaded(proc, home)
    # It cannot switch the shim on: unset or off, pip keeps its own trust (--cert).
    wants_on = by_hand(parent, pki.other_ca_pem, enabled="yes", store=str(pki.other_ca_pem))
    for switch in ({}, {"PIP_TRUSTSHIM": "0"}):
        env = {**switch, "_PIP_TRUSTSHIM_INHERITED": wants_on}
        args = ["-v", "--cert", str(pki.ca_pem)]
        proc = download(venv, home, other_index.url, env=env, args=args)
        assert_refused(proc, home, UNKNOWN_ISSUER)
        assert "pip-trustshim" not in proc.stdout + proc.stderr
    # ...nor off, nor change the store: the store (the corp CA) still decides.
    wants_off = by_hand(parent, enabled="no", store="certifi", PIP_TRUSTSHIM="0")
    env = shim(str(pki.ca_pem), _PIP_TRUSTSHIM_INHERITED=wants_off)
    proc = download(venv, home, index.url, env=env, args=["-v"])
    assert_downloaded(proc, home)
    assert "pip-trustshim is on" in proc.stdout + proc.stderr
    assert_refused(download(venv, home, other_index.url, env=env), home, UNKNOWN_ISSUER)
    # It cannot add trust to a host that a host-ca entry decides (PIP_CERT cannot either);
    # the same server by its address, which no entry names, is the general rule's.
    listed = {"PIP_TRUSTSHIM_HOST_CA": f"localhost:{other_index.port} {pki.ca_pem}"}
    for extra in (added, cert):
        env = shim(str(pki.ca_pem), **listed, **extra)
        assert_refused(download(venv, home, other_index.url, env=env), home, UNKNOWN_ISSUER)
        assert_downloaded(download(venv, home, other_index.ip_url, env=env), home)
    # It cannot name a client certificate: the file is at most a CA bundle, and the
    # keys pip never writes are ignored.
    client = pki.client_cert_pem()
    value = by_hand(parent, pki.ca_pem, client, cert=str(client), client_cert=str(client))
    with TlsIndex(pki, dists, require_client_cert=True) as guarded:
        env = shim(str(pki.ca_pem), _PIP_TRUSTSHIM_INHERITED=value)
        proc = download(venv, home, guarded.url, env=env)
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert guarded.client_names == [] and guarded.requests == []
        proc = download(venv, home, guarded.url, env=env, args=["--client-cert", str(client)])
        assert_downloaded(proc, home)  # the server does take one, when pip's own is given
    # Under pip --isolated, which ignores PIP_CERT, it is ignored too: it neither adds
    # a bundle nor, malformed, stops pip (the shim is on through the config file here).
    conf = str(write_config(home / "pip.conf", enabled="yes", store=str(pki.ca_pem)))
    for extra in (added, cert):
        proc = download(
            venv, home, other_index.url, env=extra, args=["--isolated"], config_file=conf
        )
        assert_refused(proc, home, UNKNOWN_ISSUER)
    malformed = {"_PIP_TRUSTSHIM_INHERITED": "{not json"}
    proc = download(venv, home, index.url, env=malformed, args=["--isolated"], config_file=conf)
    assert_downloaded(proc, home)


@pytest.mark.parametrize("feature", ["venv-isolation", "inprocess-build-deps"])
@pytest.mark.parametrize("switch", ["environment", "pip.conf"])
def test_build_isolation_features(
    venv: Venv, home: Path, build_index: TlsIndex, pki: Pki, feature: str, switch: str
) -> None:
    needed = {"venv-isolation": "26.2", "inprocess-build-deps": "26.0"}[feature]
    if not pip_at_least(venv, needed):
        pytest.skip(f"--use-feature={feature} needs pip >= {needed} (this is {venv.pip_version})")
    args = [f"--use-feature={feature}"]
    if switch == "environment":
        proc = build(venv, home, build_index, env=shim(str(pki.ca_pem)), args=args)
    else:
        conf = write_config(home / "pip.conf", enabled="yes", store=str(pki.ca_pem))
        proc = build(venv, home, build_index, env={}, args=args, config_file=str(conf))
    assert_built(proc, home, build_index)
    refused = build(venv, home, build_index, env=shim("certifi"), args=args)
    assert refused.returncode != 0


# ---------------------------------------------------------------- proxies


@pytest.mark.parametrize("how", ["--proxy", "HTTPS_PROXY"])
def test_through_a_connect_proxy(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki, how: str
) -> None:
    with ConnectProxy() as proxy:
        args = ["--proxy", proxy.url] if how == "--proxy" else []
        extra = {"HTTPS_PROXY": proxy.url} if how == "HTTPS_PROXY" else {}
        proc = download(venv, home, index.url, env=shim(str(pki.ca_pem), **extra), args=args)
        assert_downloaded(proc, home)
        assert f"localhost:{index.port}" in proxy.tunnels
        tunnels = len(proxy.tunnels)
        refused = download(venv, home, index.url, env=shim("certifi", **extra), args=args)
        assert_refused(refused, home, UNKNOWN_ISSUER)
        assert len(proxy.tunnels) > tunnels


@pytest.fixture
def tls_proxy(pki: Pki) -> Iterator[ConnectProxy]:
    """A CONNECT proxy that speaks TLS itself, with a certificate from its own CA."""
    with ConnectProxy(tls=pki.proxy_context()) as proxy:
        yield proxy


def bundle(home: Path, *pems: Path) -> Path:
    """One PEM file holding the certificates of ``pems``."""
    path = home / ("+".join(pem.stem for pem in pems) + ".pem")
    path.write_text("".join(pem.read_text() for pem in pems))
    return path


@pytest.mark.parametrize(
    "how, host",
    [("--proxy", "localhost"), ("HTTPS_PROXY", "localhost"), ("HTTPS_PROXY", "127.0.0.1")],
)
def test_an_https_proxy_is_verified_with_the_chosen_trust(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki, tls_proxy: ConnectProxy, how: str, host: str
) -> None:
    """The TLS to the proxy itself trusts exactly what the index's does."""
    url = tls_proxy.url.replace("localhost", host)
    args = ["--proxy", url] if how == "--proxy" else []
    extra = {"HTTPS_PROXY": url} if how == "HTTPS_PROXY" else {}

    def through_proxy(env: Dict[str, str], more: Optional[List[str]] = None) -> bool:
        tunnels, refused = len(tls_proxy.tunnels), len(tls_proxy.handshake_errors)
        proc = download(venv, home, index.url, env={**env, **extra}, args=[*args, *(more or [])])
        if proc.returncode == 0:
            assert_downloaded(proc, home)
            assert tls_proxy.tunnels[tunnels:] == [f"localhost:{index.port}"]
            return True
        assert len(tls_proxy.tunnels) == tunnels, "a tunnel through a proxy that was refused"
        assert len(tls_proxy.handshake_errors) > refused, proc.stdout + proc.stderr
        return False

    # The chosen store holds the proxy's CA: accepted.
    assert through_proxy(shim(str(bundle(home, pki.ca_pem, pki.proxy_ca_pem))))
    # The proxy's CA is only in OpenSSL's default store, which the shim does not trust.
    assert not through_proxy(shim(str(pki.ca_pem), SSL_CERT_FILE=str(pki.proxy_ca_pem)))
    # ...nor certifi, nor the system store, when the store is a bundle without it.
    assert not through_proxy(shim(str(pki.ca_pem)))
    # A bundle given to pip itself counts for the proxy too, as for every host.
    assert through_proxy(shim(str(pki.ca_pem)), ["--cert", str(pki.proxy_ca_pem)])
    assert through_proxy(shim(str(pki.ca_pem), PIP_TRUSTSHIM_EXTRA_CA=str(pki.proxy_ca_pem)))


def test_an_https_proxy_whose_certificate_names_another_host_is_refused(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """The proxy's name is checked on every pip. pip before 26.1 leaves it to urllib3
    1.x, which skips it for the ``proxy_ssl_context`` the shim gives; the shim checks
    it with urllib3's own function. (Stock pip 20.3's urllib3 1.26.2 never checks an
    ``https://`` proxy's name at all: there, and only there, the shim is stricter.)"""
    trusted = str(bundle(home, pki.ca_pem, pki.proxy_ca_pem))
    tls = pki.named_context(pki.proxy_ca, "proxy.elsewhere.test")
    with ConnectProxy(tls=tls) as proxy:
        env = {"HTTPS_PROXY": proxy.url}
        proc = download(venv, home, index.url, env=shim(trusted, **env))
        assert proc.returncode != 0, proc.stdout + proc.stderr
        assert proxy.connections and proxy.tunnels == [], proc.stdout + proc.stderr
        stock = download(venv, home, index.url, env=env, args=["--cert", trusted])
        pips_hole = not pip_at_least(venv, "21.0")  # urllib3 1.26.2
        assert (stock.returncode == 0) == pips_hole, stock.stdout + stock.stderr


def test_an_https_proxy_gets_only_its_own_client_certificate(
    venv: Venv, home: Path, pki: Pki, dists: Path
) -> None:
    """pip's ``--client-cert`` goes to the servers, never to an ``https://`` proxy; a
    ``host-client-cert`` entry for the proxy's host goes to the proxy, and only there."""
    pips = ["--client-cert", str(pki.client_cert_pem("pip's own client"))]
    mine = f"localhost:0 {pki.client_cert_pem('the proxy client')}"
    with ConnectProxy(tls=pki.proxy_context(), ask_client_cert=pki.ca) as proxy, TlsIndex(
        pki, dists, ask_client_cert=True
    ) as index:
        env = shim(str(bundle(home, pki.ca_pem, pki.proxy_ca_pem)), HTTPS_PROXY=proxy.url)
        assert_downloaded(download(venv, home, index.url, env=env, args=pips), home)
        assert proxy.tunnels == [f"localhost:{index.port}"]
        assert proxy.client_names == []
        assert set(index.client_names) == {"pip's own client"}
        env["PIP_TRUSTSHIM_HOST_CLIENT_CERT"] = mine.replace(":0", f":{proxy.port}")
        assert_downloaded(download(venv, home, index.url, env=env, args=pips), home)
        assert len(proxy.tunnels) == 2
        assert set(proxy.client_names) == {"the proxy client"}
        assert set(index.client_names) == {"pip's own client"}


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_ca_bundle_variables_count_only_while_pip_reads_them(
    venv: Venv, home: Path, other_index: TlsIndex, pki: Pki, variable: str
) -> None:
    """requests reads them only while its ``trust_env`` is on, which pip turns off
    for ``--proxy`` (24.1+) and ``--no-proxy-env`` (26.2+)."""
    given = {variable: str(pki.other_ca_pem)}
    with ConnectProxy() as proxy:
        through = ["--proxy", proxy.url]
        # Stock pip, as the reference: --proxy makes it ignore the variable from 24.1 on.
        proc = download(venv, home, other_index.url, env=given, args=through)
        assert (proc.returncode == 0) is not pip_at_least(venv, "24.1"), proc.stderr
        env = shim(str(pki.ca_pem), **given)
        proc = download(venv, home, other_index.url, env=env, args=through)
        if pip_at_least(venv, "24.1"):
            assert_refused(proc, home, UNKNOWN_ISSUER)
        else:
            assert_downloaded(proc, home)
        assert len(proxy.tunnels) == 2
        # Through the environment's proxy, requests reads the variable: it counts.
        proc = download(venv, home, other_index.url, env={**env, "HTTPS_PROXY": proxy.url})
        assert_downloaded(proc, home)
        assert len(proxy.tunnels) == 3
    if pip_at_least(venv, "26.2"):
        proc = download(venv, home, other_index.url, env=env, args=["--no-proxy-env"])
        assert_refused(proc, home, UNKNOWN_ISSUER)


# ------------------------------------------------------- other pip commands


def test_client_certificate(venv: Venv, home: Path, pki: Pki, dists: Path) -> None:
    with TlsIndex(pki, dists, require_client_cert=True) as guarded:
        args = ["--client-cert", str(pki.client_cert_pem())]
        proc = download(venv, home, guarded.url, env=shim(str(pki.ca_pem)), args=args)
        assert_downloaded(proc, home)
        without = download(venv, home, guarded.url, env=shim(str(pki.ca_pem)))
        assert without.returncode != 0
        assert guarded.requests == ["/simple/tinypkg/", "/files/tinypkg-1.0-py3-none-any.whl"]


def test_self_version_check(venv: Venv, home: Path, build_index: TlsIndex, pki: Pki) -> None:
    env = shim(str(pki.ca_pem), PIP_DISABLE_PIP_VERSION_CHECK="0")
    proc = download(venv, home, build_index.url, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "/simple/pip/" in build_index.requests, build_index.requests
    assert "99.0" in proc.stderr + proc.stdout  # "A new release of pip is available"


def test_pip_index_versions(venv: Venv, home: Path, build_index: TlsIndex, pki: Pki) -> None:
    if not pip_at_least(venv, "21.2"):
        pytest.skip(f"`pip index` needs pip >= 21.2 (this is {venv.pip_version})")
    args = ["index", "versions", "tinypkg", "--retries", "0", "--index-url", build_index.url]
    proc = venv.pip(args, home, env=shim(str(pki.ca_pem)))
    assert proc.returncode == 0, proc.stderr
    assert "tinypkg (2.0)" in proc.stdout
    refused = venv.pip(args, home, env=shim("certifi"))
    assert refused.returncode != 0
    assert "tinypkg (2.0)" not in refused.stdout


def test_pip_list_outdated(
    venv: Venv, home: Path, build_index: TlsIndex, pki: Pki, build_dists: Path
) -> None:
    target = home / "target"
    wheel = str(build_dists / "tinypkg-1.0-py3-none-any.whl")
    installed = venv.pip(["install", "--no-index", "--target", str(target), wheel], home)
    assert installed.returncode == 0, installed.stderr
    args = ["list", "--outdated", "--path", str(target), "--retries", "0"]
    args += ["--index-url", build_index.url]
    proc = venv.pip(args, home, env=shim(str(pki.ca_pem)))
    assert proc.returncode == 0, proc.stderr
    assert "tinypkg" in proc.stdout and "2.0" in proc.stdout
    refused = venv.pip(args, home, env=shim("certifi"))
    assert "2.0" not in refused.stdout
    assert UNKNOWN_ISSUER in refused.stdout + refused.stderr


def test_pip_wheel(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    out = home / "wheels"
    args = ["wheel", "--no-deps", "--retries", "0", "--index-url", index.url, "-w", str(out)]
    proc = venv.pip([*args, "tinypkg"], home, env=shim(str(pki.ca_pem)))
    assert proc.returncode == 0, proc.stderr
    assert (out / "tinypkg-1.0-py3-none-any.whl").is_file()


# ------------------------------------------------------- other ways to run pip


def test_pip_as_a_zipapp(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    pyz = home / "pip.pyz"
    source = venv.site_packages() / "pip"
    with zipfile.ZipFile(pyz, "w") as archive:
        archive.writestr(
            "__main__.py", "import runpy\nrunpy.run_module('pip', run_name='__main__')\n"
        )
        for path in source.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, str(path.relative_to(source.parent)))
    version = venv.run([str(pyz), "--version"], home)
    assert str(pyz) in version.stdout, version.stdout + version.stderr
    dest = home / "downloads"
    args = [str(pyz), "download", "--no-deps", "--retries", "0", "-d", str(dest)]
    proc = venv.run([*args, "--index-url", index.url, "tinypkg"], home, env=shim(str(pki.ca_pem)))
    assert_downloaded(proc, home)
    shutil.rmtree(dest)
    proc = venv.run([*args, "--index-url", index.url, "tinypkg"], home, env=shim("certifi"))
    assert_refused(proc, home, UNKNOWN_ISSUER)


def test_pip_python_option(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    """``pip --python OTHER`` runs pip under OTHER: OTHER's environment decides."""
    if not pip_at_least(venv, "22.3"):
        pytest.skip(f"`pip --python` needs pip >= 22.3 (this is {venv.pip_version})")
    plain = make_venv(venv.python_version, venv.pip_version, None)
    args = ["--python", str(venv.python), "download", "--no-deps", "--retries", "0"]
    args += ["-d", str(home / "downloads"), "--index-url", index.url, "tinypkg"]
    # From a pip without the shim into an environment that has it: applies.
    assert_downloaded(plain.pip(args, home, env=shim(str(pki.ca_pem))), home)
    # From the shim's environment into one without it: it does not.
    args[1] = str(plain.python)
    shutil.rmtree(home / "downloads")
    proc = venv.pip(args, home, env=shim(str(pki.ca_pem)))
    assert_refused(proc, home, UNKNOWN_ISSUER)


# ------------------------------------------------------------ unknown pips

OPAQUE_PIP = """
import sys
import pip._internal.network.session as session
from pip._vendor.requests.adapters import BaseAdapter

real = session.HTTPAdapter


class Opaque(BaseAdapter):
    '''An https adapter of a shape the shim does not know.'''

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.inner = real(*args, **kwargs)

    def send(self, *args, **kwargs):
        return self.inner.send(*args, **kwargs)

    def close(self):
        self.inner.close()


session.HTTPAdapter = session.CacheControlAdapter = Opaque
from pip._internal.cli.main import main
sys.exit(main())
"""


def test_unrecognised_pip_internals(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    script = home / "opaque_pip.py"
    script.write_text(OPAQUE_PIP)
    dest = home / "downloads"
    args = [str(script), "download", "--no-deps", "--retries", "0", "-d", str(dest)]
    args += ["--index-url", index.url, "--no-cache-dir", "tinypkg"]
    # Off: pip is untouched and works with its own --cert.
    proc = venv.run([*args, "--cert", str(pki.ca_pem)], home)
    assert_downloaded(proc, home)
    connections = index.connections
    # On: a clear stop before any connection.
    proc = venv.run(args, home, env=shim(str(pki.ca_pem)))
    lines = [line for line in proc.stderr.splitlines() if "pip-trustshim:" in line]
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "is not one the shim recognises (it has no HTTPS adapter the shim knows)" in lines[0]
    assert "Traceback" not in proc.stderr
    assert index.connections == connections
