"""End to end: every road pip takes to a server goes through the shim's trust.

Build isolation (each variant pip has had), CONNECT proxies, client
certificates, the self version check, ``pip index``, ``pip list
--outdated``, ``pip wheel``, pip as a zipapp, ``pip --python``, and a pip
whose internals the shim does not recognise. Runs on the default pips; with
``-m matrix`` on every pair of the matrix (pip 20.3 to 26.3, CPython 3.8 to 3.13).
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
from support import (
    UNKNOWN_ISSUER,
    ConnectProxy,
    Pki,
    TlsIndex,
    Venv,
    assert_downloaded,
    assert_refused,
    download,
    make_sdist,
    make_venv,
    make_wheel,
    pip_at_least,
    shim,
    write_config,
)


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
    """pip < 25.0 does not forward ``--cert`` to its build subprocess; the shim does."""
    args = ["--cert", str(pki.ca_pem)]
    assert_built(build(venv, home, build_index, env=shim("certifi"), args=args), home, build_index)


def test_build_isolation_keeps_isolated_mode(
    venv: Venv, home: Path, build_index: TlsIndex, pki: Pki
) -> None:
    """``--isolated`` is not forwarded either; the child keeps the parent's decision."""
    conf = write_config(home / "pip.conf", enabled="yes", store=str(pki.ca_pem))
    env = {"PIP_TRUSTSHIM_STORE": "/nowhere/ca.pem"}  # ignored under --isolated
    proc = build(venv, home, build_index, env=env, args=["--isolated"], config_file=str(conf))
    assert_built(proc, home, build_index)


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
    assert "no HTTPS adapter the shim recognises" in lines[0]
    assert "Traceback" not in proc.stderr
    assert index.connections == connections
