"""Proofs that the test helpers in tests/lib/ do what they claim."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import ssl
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Optional

import pytest

from lib.dists import BACKEND, make_sdist, make_wheel
from lib.interpreters import find_python, require_python, running_version, stand_in
from lib.pki import Pki
from lib.servers import ConnectProxy, TlsIndex
from lib.venvs import (
    Venv,
    build_project_wheel,
    fresh_venv,
    make_venv,
    scrubbed_env,
    without_machine_config,
)


def fetch(
    url: str, cafile: Path, proxy: Optional[str] = None, client_cert: Optional[Path] = None
) -> bytes:
    """GET ``url`` trusting only ``cafile``, optionally via a CONNECT proxy / with a client cert."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    if client_cert is not None:
        ctx.load_cert_chain(str(client_cert))
    handlers: list[urllib.request.BaseHandler] = [urllib.request.HTTPSHandler(context=ctx)]
    handlers.append(urllib.request.ProxyHandler({"https": proxy} if proxy else {}))
    with urllib.request.build_opener(*handlers).open(url, timeout=15) as resp:
        body: bytes = resp.read()
    return body


def verify_failure(url: str, cafile: Path) -> ssl.SSLCertVerificationError:
    with pytest.raises(urllib.error.URLError) as info:
        fetch(url, cafile)
    reason = info.value.reason
    assert isinstance(reason, ssl.SSLCertVerificationError), reason
    assert "CERTIFICATE_VERIFY_FAILED" in str(reason)
    return reason


# ---------------------------------------------------------------- TLS index


def test_good_index_serves_pep503_to_a_client_trusting_the_ca(
    index: TlsIndex, pki: Pki, dists: Path
) -> None:
    assert index.url == f"https://localhost:{index.port}/simple/"
    assert index.ip_url == f"https://127.0.0.1:{index.port}/simple/"
    root = fetch(index.url, pki.ca_pem).decode()
    assert '<a href="tinypkg/">tinypkg</a>' in root

    page = fetch(index.ip_url + "TinyPkg", pki.ca_pem).decode()  # redirected to the normalized name
    wheel = dists / "tinypkg-1.0-py3-none-any.whl"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    href = f"../../files/{wheel.name}#sha256={digest}"
    assert f'<a href="{href}">{wheel.name}</a>' in page

    file_url = urllib.parse.urljoin(index.url + "tinypkg/", href.split("#")[0])
    assert fetch(file_url, pki.ca_pem) == wheel.read_bytes()
    assert index.requests == [
        "/simple/",
        "/simple/TinyPkg",
        "/simple/tinypkg/",
        f"/files/{wheel.name}",
    ]

    with pytest.raises(urllib.error.HTTPError) as info:
        fetch(index.url + "nosuchpkg/", pki.ca_pem)
    assert info.value.code == 404


def test_good_index_is_rejected_by_a_client_trusting_only_the_other_ca(
    index: TlsIndex, pki: Pki
) -> None:
    reason = verify_failure(index.url, pki.other_ca_pem)
    assert reason.verify_message == "unable to get local issuer certificate"
    assert index.connections == 1
    assert index.requests == []
    deadline = time.monotonic() + 5  # the server notices the failed handshake just after the client
    while not index.handshake_errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(index.handshake_errors) == 1


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        ("expired", "certificate has expired"),
        ("wrong-host", "Hostname mismatch, certificate is not valid for 'localhost'."),
        ("unknown-ca", "unable to get local issuer certificate"),
    ],
)
def test_bad_leaves_fail_verification(pki: Pki, dists: Path, leaf: str, message: str) -> None:
    with TlsIndex(pki, dists, leaf=leaf) as idx:
        assert verify_failure(idx.url, pki.ca_pem).verify_message == message
        assert (idx.connections, idx.requests) == (1, [])


def test_connections_are_counted_before_the_handshake_and_failures_do_not_kill_the_server(
    pki: Pki, dists: Path
) -> None:
    threads_before = threading.active_count()
    with TlsIndex(pki, dists) as idx:
        assert idx.connections == 0
        with socket.create_connection(("127.0.0.1", idx.port)) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")  # plaintext to a TLS port
            sock.settimeout(10)
            try:
                reply = sock.recv(100)
            except ConnectionResetError:
                reply = b""
            assert not reply.startswith(b"HTTP")  # dropped at the handshake, never served
        silent = socket.create_connection(("127.0.0.1", idx.port))  # connects, never handshakes
        assert b"tinypkg" in fetch(idx.url, pki.ca_pem)
        assert idx.connections == 3
        assert idx.requests == ["/simple/"]
        started = time.monotonic()
    try:
        # close() returned promptly although a client sat mid-handshake (handler timeout is 30 s):
        # its handler thread was unblocked and joined.
        assert time.monotonic() - started < 5
        assert threading.active_count() == threads_before
    finally:
        silent.close()


def test_client_certificate_required(pki: Pki, dists: Path) -> None:
    client_pem = pki.client_cert_pem()
    assert "PRIVATE KEY" in client_pem.read_text() and "CERTIFICATE" in client_pem.read_text()
    with TlsIndex(pki, dists, require_client_cert=True) as idx:
        assert b"tinypkg" in fetch(idx.url, pki.ca_pem, client_cert=client_pem)
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            fetch(idx.url, pki.ca_pem)
        assert idx.requests == ["/simple/"]


def test_connect_proxy_tunnels_and_records(index: TlsIndex, pki: Pki) -> None:
    with ConnectProxy() as proxy:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", proxy.url)
        assert b"tinypkg" in fetch(index.url, pki.ca_pem, proxy=proxy.url)
        assert b"tinypkg" in fetch(index.ip_url, pki.ca_pem, proxy=proxy.url)
        assert proxy.tunnels == [f"localhost:{index.port}", f"127.0.0.1:{index.port}"]
        assert index.connections == 2 and index.requests == ["/simple/", "/simple/"]
        # plain GET is refused, not forwarded
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.url})).open(
                "http://127.0.0.1:9/", timeout=10
            )
        assert info.value.code == 405


# ------------------------------------------------------------- distributions


def test_make_wheel_is_valid_and_reproducible(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "a", "Tiny.Pkg", "2.0")
    assert wheel.name == "tiny_pkg-2.0-py3-none-any.whl"
    assert make_wheel(tmp_path / "b", "Tiny.Pkg", "2.0").read_bytes() == wheel.read_bytes()
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert names == {
            "tiny_pkg.py",
            "tiny_pkg-2.0.dist-info/METADATA",
            "tiny_pkg-2.0.dist-info/WHEEL",
            "tiny_pkg-2.0.dist-info/RECORD",
        }
        assert (
            "Name: Tiny.Pkg\nVersion: 2.0\n" in zf.read("tiny_pkg-2.0.dist-info/METADATA").decode()
        )
        record = zf.read("tiny_pkg-2.0.dist-info/RECORD").decode().splitlines()
        assert len(record) == 4 and "tiny_pkg-2.0.dist-info/RECORD,," in record
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if digest:
                data = zf.read(path)
                expected = (
                    base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                )
                assert (digest, int(size)) == (f"sha256={expected}", len(data))


def test_make_sdist_layout(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "Needs-Build", "0.3", ["tinypkg", "other>=1"])
    assert sdist.name == "needs_build-0.3.tar.gz"
    with tarfile.open(sdist) as tf:
        pyproject = tf.extractfile("needs_build-0.3/pyproject.toml")
        assert pyproject is not None
        text = pyproject.read().decode()
        assert set(tf.getnames()) >= {
            "needs_build-0.3/PKG-INFO",
            "needs_build-0.3/_backend/tinybackend.py",
            "needs_build-0.3/_backend/tinybackend.json",
        }
        backend = tf.extractfile("needs_build-0.3/_backend/tinybackend.py")
        project = tf.extractfile("needs_build-0.3/_backend/tinybackend.json")
        assert backend is not None and project is not None
        assert backend.read() == BACKEND.read_bytes()  # the linted file, copied as it is
        details = json.loads(project.read())
    assert 'requires = ["tinypkg", "other>=1"]' in text and 'backend-path = ["_backend"]' in text
    assert (details["dist"], details["version"]) == ("needs_build", "0.3")
    assert "Name: Needs-Build\nVersion: 0.3\n" in details["metadata"]
    assert "Generator: tinybackend\n" in details["wheel"]


# ------------------------------------------------------------ interpreters


def test_find_python_checks_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    here = "{}.{}".format(*sys.version_info[:2])
    found = find_python(here)
    assert found is not None and found.exists()
    monkeypatch.setenv("TRUSTSHIM_PYTHON_2_1", sys.executable)  # wrong version: refused
    assert find_python("2.1") is None
    with pytest.raises(pytest.skip.Exception, match=r"CPython 2\.1 not found"):
        require_python("2.1")
    monkeypatch.setenv(f"TRUSTSHIM_PYTHON_{here.replace('.', '_')}", sys.executable)
    assert find_python(here) == Path(sys.executable)


def test_a_missing_default_cpython_is_replaced_by_the_running_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = running_version()
    monkeypatch.setenv("TRUSTSHIM_PYTHON_3_13", "/nonexistent/python3.13")
    monkeypatch.setenv(f"TRUSTSHIM_PYTHON_{here.replace('.', '_')}", sys.executable)
    pairs, notes = stand_in([(here, "23.2.1"), ("3.13", "26.3")])
    if here == "3.13":  # the running one is 3.13 itself: found through its variable
        assert (pairs, notes) == ([(here, "23.2.1"), ("3.13", "26.3")], [])
        return
    assert pairs == [(here, "23.2.1"), (here, "26.3")]
    assert len(notes) == 1 and notes[0].startswith("CPython 3.13 not found: pip 26.3's")
    assert sys.executable in notes[0]


def test_scrubbed_env_is_built_from_scratch(tmp_path: Path) -> None:
    env = scrubbed_env(tmp_path / "bin", tmp_path, extra={"X": "1"})
    assert env == {
        "PATH": f"{tmp_path / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "LC_ALL": "C.UTF-8",
        "X": "1",
    }
    assert (
        scrubbed_env(tmp_path, tmp_path, config_file="/x/pip.conf")["PIP_CONFIG_FILE"]
        == "/x/pip.conf"
    )


# ------------------------------------------------------------------- venvs


@pytest.fixture(scope="module")
def venv311() -> Venv:
    return make_venv("3.11", "23.2.1", None)


def test_venv_has_pinned_pip_and_a_scrubbed_environment(venv311: Venv, home: Path) -> None:
    proc = venv311.pip(["--version"], home)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("pip 23.2.1 ") and "(python 3.11)" in proc.stdout
    assert str(venv311.site_packages()) in proc.stdout
    code = "import json, os, sys; print(json.dumps([dict(os.environ), sys.prefix]))"
    env, prefix = json.loads(venv311.run(["-c", code], home, env={"EXTRA": "y"}).stdout)
    env.pop("LC_CTYPE", None)  # CPython may set it when coercing the C locale
    assert env == scrubbed_env(venv311.bin, home, extra={"EXTRA": "y"})
    assert Path(prefix) == venv311.path
    names = {p.name.split("-")[0].lower() for p in venv311.site_packages().glob("*.dist-info")}
    assert names == {"pip", "certifi", "truststore"}  # --without-pip: no setuptools


def test_venv_pip_downloads_over_tls_only_when_trusting_the_ca(
    venv311: Venv, index: TlsIndex, pki: Pki, home: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "dl"
    base = [
        "download",
        "--no-deps",
        "--retries",
        "0",
        "--timeout",
        "10",
        "--index-url",
        index.url,
        "-d",
        str(dest),
    ]
    ok = venv311.pip([*base, "--cert", str(pki.ca_pem), "tinypkg"], home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert [p.name for p in dest.iterdir()] == ["tinypkg-1.0-py3-none-any.whl"]
    assert index.requests == ["/simple/tinypkg/", "/files/tinypkg-1.0-py3-none-any.whl"]

    before = index.connections
    bad = venv311.pip(
        [*base, "tinypkg"], home
    )  # pip's own certifi bundle does not know the test CA
    assert bad.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in bad.stdout + bad.stderr
    assert index.connections > before
    assert index.requests == ["/simple/tinypkg/", "/files/tinypkg-1.0-py3-none-any.whl"]


def test_hand_made_wheel_and_sdist_install_with_real_pip(
    venv311: Venv, dists: Path, home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    wheel = dists / "tinypkg-1.0-py3-none-any.whl"
    proc = venv311.pip(["install", "--no-index", "--target", str(target), str(wheel)], home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "tinypkg.py").exists()

    sdist = make_sdist(tmp_path / "sd", "needsbuild", "0.1", ["tinypkg"])
    out = tmp_path / "out"
    build = ["wheel", "--no-index", "--no-deps", "-w", str(out), str(sdist)]
    proc = venv311.pip(build, home)  # build requirement unavailable -> fails
    assert proc.returncode != 0 and "tinypkg" in proc.stdout + proc.stderr
    proc = venv311.pip([*build, "--find-links", str(dists)], home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = out / "needsbuild-0.1-py3-none-any.whl"
    with zipfile.ZipFile(built) as zf:
        assert "needsbuild.py" in zf.namelist()


def test_fresh_venv_is_private_and_uncached(venv311: Venv, home: Path, tmp_path: Path) -> None:
    venv = fresh_venv(tmp_path / "v", "3.11", "23.2.1", None)
    assert venv.path == tmp_path / "v" and venv.python == tmp_path / "v" / "bin" / "python"
    assert venv.site_packages() != venv311.site_packages()
    proc = venv.pip(["--version"], home)
    assert proc.stdout.startswith(f"pip 23.2.1 from {venv.site_packages()}"), proc.stdout


# ------------------------------------------------------------ project wheel


def test_build_project_wheel_on_a_throwaway_hatchling_project(tmp_path: Path) -> None:
    pytest.importorskip("hatchling", reason="hatchling is a test dependency")
    proj = tmp_path / "proj"
    (proj / "demo_proj").mkdir(parents=True)
    (proj / "demo_proj" / "__init__.py").write_text("")
    (proj / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "demo-proj"\nversion = "0.0.1"\n'
    )
    wheel = build_project_wheel(tmp_path / "out", proj)
    assert wheel.parent == tmp_path / "out"
    assert re.fullmatch(r"demo_proj-0\.0\.1-py(2\.py)?3-none-any\.whl", wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as zf:
        assert "demo_proj/__init__.py" in zf.namelist()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [wheel.name]  # temp build dir removed


def test_a_run_that_reads_pips_files_never_reads_the_machines(venv311: Venv, home: Path) -> None:
    """pip reads /etc/pip.conf whatever the environment says: hidden, in a mount namespace."""
    user = home / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.write_text("[global]\ntimeout = 7\n")
    proc = venv311.pip(["config", "list"], home, config_file="")
    assert proc.returncode == 0, proc.stderr
    files = [line for line in proc.stdout.splitlines() if not line.startswith(":env:")]
    assert files == ["global.timeout='7'"]  # the test's own file, and nothing else
    assert without_machine_config(["x"], os.devnull) == ["x"]  # reads no file: as it is
