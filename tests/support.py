"""Reusable helpers for pip-trustshim's end-to-end tests.

Everything here is real: a throwaway PKI made with ``trustme``, a PEP 503
index served over HTTPS on 127.0.0.1, a CONNECT proxy, hand-made wheels and
sdists, real CPython interpreters found on the machine, and cached virtualenvs
with pinned pip releases.

Pip runs *under test* always get an environment built from scratch by
:func:`scrubbed_env`; only the one-time downloads into the wheel cache use the
machine's ambient environment (they need its proxy CA).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import fcntl
import glob
import hashlib
import html
import io
import json
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Dict, Iterator, List, Optional, Tuple, Type, TypeVar

import pytest
import trustme

REPO_ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
LEAVES = (
    "good",
    "expired",
    "not-yet-valid",
    "wrong-host",
    "unknown-ca",
    "self-signed",
    "self-signed-chain",
    "intermediate-missing",
)
_MARKER = ".trustshim-ready.json"
#: changes whenever _build_venv makes venvs differently, so cached ones are rebuilt
VENV_RECIPE = "without-pip, pip/certifi/truststore from cached wheels"
_S = TypeVar("_S", bound="_Served")
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_WHEEL = "Wheel-Version: 1.0\nGenerator: {generator}\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


# --------------------------------------------------------------------------- PKI


@dataclass
class Pki:
    """A throwaway PKI: a trusted "corp" CA, an untrusted CA and server leaves."""

    dir: Path
    ca: trustme.CA
    other_ca: trustme.CA
    ca_pem: Path
    other_ca_pem: Path
    leaves: Dict[str, trustme.LeafCert] = field(default_factory=dict, repr=False)
    _client_pem: Optional[Path] = field(default=None, repr=False)
    #: the CA of the test proxies that speak TLS themselves (its own, separate CA)
    proxy_ca: trustme.CA = field(default_factory=lambda: trustme.CA(organization_name="proxy CA"))

    @property
    def proxy_ca_pem(self) -> Path:
        """The proxy CA's certificate, written once."""
        path = self.dir / "proxy-ca.pem"
        if not path.exists():
            self.proxy_ca.cert_pem.write_to_path(str(path))
        return path

    def proxy_context(self) -> ssl.SSLContext:
        """Server-side context of an ``https://`` proxy on loopback, issued by ``proxy_ca``."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.proxy_ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
        return ctx

    @property
    def intermediate_pem(self) -> Path:
        """The intermediate CA (issued by ``ca``) behind the "intermediate-missing" leaf."""
        return self.dir / "intermediate.pem"

    def server_context(
        self, leaf: str = "good", require_client_cert: bool = False
    ) -> ssl.SSLContext:
        """Server-side context presenting ``leaf`` (one of :data:`LEAVES`).

        With ``require_client_cert`` the server demands a client certificate
        issued by ``ca`` (see :meth:`client_cert_pem`).
        """
        if leaf not in self.leaves:
            raise ValueError(f"unknown leaf {leaf!r}; expected one of {LEAVES}")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.leaves[leaf].configure_cert(ctx)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(ctx)
        return ctx

    def client_cert_pem(self) -> Path:
        """Write (once) and return a PEM with a client key + certificate chain issued by ``ca``."""
        if self._client_pem is None:
            cert = self.ca.issue_cert(
                "trustshim-client.example", common_name="trustshim test client"
            )
            path = self.dir / "client.pem"
            cert.private_key_and_cert_chain_pem.write_to_path(str(path))
            self._client_pem = path
        return self._client_pem


def make_pki(directory: Path) -> Pki:
    """Create both CAs and all server leaves, writing the CA PEMs into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="trustshim corp CA")
    other_ca = trustme.CA(organization_name="trustshim untrusted CA")
    now = datetime.datetime.now(datetime.timezone.utc)
    hosts = ("localhost", "127.0.0.1", "::1")
    alone = trustme.CA(organization_name="trustshim self-signed server")
    root = trustme.CA(organization_name="trustshim intercepting proxy root")
    rooted = root.issue_cert(*hosts)
    intermediate = ca.create_child_ca()
    below = intermediate.issue_cert(*hosts)
    leaves = {
        "good": ca.issue_cert(*hosts),
        "expired": ca.issue_cert(
            *hosts,
            not_before=now - datetime.timedelta(days=60),
            not_after=now - datetime.timedelta(days=1),
        ),
        "not-yet-valid": ca.issue_cert(
            *hosts,
            not_before=now + datetime.timedelta(days=2),
            not_after=now + datetime.timedelta(days=60),
        ),
        "wrong-host": ca.issue_cert("wrong.example"),
        "unknown-ca": other_ca.issue_cert("localhost", "127.0.0.1"),
        # a CA certificate presented as the server's own: a self-signed leaf
        "self-signed": trustme.LeafCert(alone.private_key_pem.bytes(), alone.cert_pem.bytes(), []),
        # a chain ending in a root the server sends itself (an intercepting proxy's)
        "self-signed-chain": trustme.LeafCert(
            rooted.private_key_pem.bytes(),
            rooted.cert_chain_pems[0].bytes(),
            [root.cert_pem.bytes()],
        ),
        # issued by an intermediate of `ca` that the server does not send
        "intermediate-missing": trustme.LeafCert(
            below.private_key_pem.bytes(), below.cert_chain_pems[0].bytes(), []
        ),
    }
    intermediate.cert_pem.write_to_path(str(directory / "intermediate.pem"))
    ca_pem = directory / "ca.pem"
    other_ca_pem = directory / "other-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    other_ca.cert_pem.write_to_path(str(other_ca_pem))
    return Pki(directory, ca, other_ca, ca_pem, other_ca_pem, leaves)


# ------------------------------------------------------------------ distributions


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _escape(name: str) -> str:
    """Distribution name as it appears in wheel/sdist file names."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _metadata(name: str, version: str) -> str:
    summary = "pip-trustshim test fixture"
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n\n"


def make_wheel(directory: Path, name: str = "tinypkg", version: str = "1.0") -> Path:
    """Build a pure-Python ``py3-none-any`` wheel with one module ``<name>.py``.

    The wheel is byte-for-byte reproducible (fixed zip timestamps).
    """
    directory.mkdir(parents=True, exist_ok=True)
    dist = _escape(name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}.py": f'"""pip-trustshim test fixture."""\n__version__ = "{version}"\n',
        f"{info}/METADATA": _metadata(name, version),
        f"{info}/WHEEL": _WHEEL.format(generator="pip-trustshim-tests"),
    }
    record = "".join(
        f"{p},{_record_hash(t.encode())},{len(t.encode())}\n" for p, t in files.items()
    )
    files[f"{info}/RECORD"] = record + f"{info}/RECORD,,\n"
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, text in files.items():
            zf.writestr(zipfile.ZipInfo(arcname, _ZIP_DATE), text)
    return path


_BACKEND = '''\
"""Tiny in-tree PEP 517 backend (pip-trustshim test fixture); stdlib only."""
import base64, hashlib, os, zipfile

NAME = {name!r}
VERSION = {version!r}
DIST = {dist!r}
METADATA = {metadata!r}
WHEEL = {wheel!r}


def _hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    report = os.environ.get("TINYBACKEND_REPORT")
    if report:  # what this backend's environment holds of the shim's hand-down
        with open(report, "w") as f:
            f.write(os.environ.get("_PIP_TRUSTSHIM_INHERITED", "absent"))
    info = "%s-%s.dist-info" % (DIST, VERSION)
    with open(DIST + ".py", "rb") as f:
        module = f.read()
    files = {{
        DIST + ".py": module,
        info + "/METADATA": METADATA.encode(),
        info + "/WHEEL": WHEEL.encode(),
    }}
    record = "".join("%s,%s,%d\\n" % (p, _hash(d), len(d)) for p, d in files.items())
    files[info + "/RECORD"] = (record + info + "/RECORD,,\\n").encode()
    filename = "%s-%s-py3-none-any.whl" % (DIST, VERSION)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return filename
'''


def make_sdist(directory: Path, name: str, version: str, build_requires: List[str]) -> Path:
    """Build a minimal sdist whose only build requirements are ``build_requires``.

    It ships an in-tree backend (``backend-path = ["_backend"]``) that builds a
    wheel with zipfile, so building it needs nothing beyond ``build_requires``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    dist = _escape(name)
    base = f"{dist}-{version}"
    pyproject = (
        "[build-system]\n"
        f"requires = {json.dumps(list(build_requires))}\n"
        'build-backend = "tinybackend"\n'
        'backend-path = ["_backend"]\n'
    )
    files = {
        "PKG-INFO": _metadata(name, version),
        "pyproject.toml": pyproject,
        "_backend/tinybackend.py": _BACKEND.format(
            name=name,
            version=version,
            dist=dist,
            metadata=_metadata(name, version),
            wheel=_WHEEL.format(generator="tinybackend"),
        ),
        f"{dist}.py": f'"""pip-trustshim test fixture (sdist)."""\n__version__ = "{version}"\n',
    }
    path = directory / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(f"{base}/{rel}")
            member.size = len(data)
            member.mtime = 1577836800
            member.mode = 0o644
            tf.addfile(member, io.BytesIO(data))
    return path


def _project_of(filename: str) -> Optional[str]:
    """Normalized project name of a wheel or sdist file name, else None."""
    if filename.endswith(".whl"):
        return normalize(filename.split("-", 1)[0])
    for ext in (".tar.gz", ".zip"):
        if filename.endswith(ext):
            return normalize(filename[: -len(ext)].rsplit("-", 1)[0])
    return None


# ------------------------------------------------------------- servers (shared)


class _TrackingServer(ThreadingHTTPServer):
    """IPv4 threading server that counts accepted TCP connections and can
    forcibly close the open ones on :meth:`stop` so handler threads end."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, handler: Type[BaseHTTPRequestHandler]) -> None:
        self.connections = 0
        self.stopping = False
        self._lock = threading.Lock()
        self._open: Dict[socket.socket, socket.socket] = {}
        super().__init__(("127.0.0.1", 0), handler)

    def get_request(self) -> Tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        with self._lock:
            self.connections += 1
            # A dup survives ssl's detach() of the original, so stop() can always shut it down.
            self._open[sock] = sock.dup()
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            handle = self._open.pop(request, None)
        super().shutdown_request(request)
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.shutdown(socket.SHUT_WR)
            handle.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) or self.stopping:
            return  # handshake failures, resets, timeouts: expected in these tests
        super().handle_error(request, client_address)

    def start(self) -> None:
        thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self._serve_thread = thread

    def stop(self) -> None:
        self.stopping = True
        self.shutdown()
        with self._lock:
            handles = list(self._open.values())
        for handle in handles:
            with contextlib.suppress(OSError):
                handle.shutdown(socket.SHUT_RDWR)
        self.server_close()  # joins handler threads
        self._serve_thread.join(timeout=5)


# ------------------------------------------------------------------ TLS index


class _IndexHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _IndexServer

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        try:
            self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        except OSError as exc:
            self.server.index.handshake_errors.append(str(exc))
            raise
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.request.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _send(
        self, status: int, body: bytes, content_type: str, head: bool, location: str = ""
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _serve(self, head: bool) -> None:
        path = urllib.parse.urlsplit(self.path).path
        self.server.index.requests.append(path)
        dists = self.server.index.dists
        files = sorted(p.name for p in dists.iterdir() if p.is_file() and _project_of(p.name))
        projects = sorted({_project_of(f) or "" for f in files})
        html_type = "text/html; charset=utf-8"
        parts = [urllib.parse.unquote(p) for p in path.split("/")]
        if path == "/simple":
            self._send(301, b"", html_type, head, "/simple/")
        elif path == "/simple/":
            links = "".join(
                f'<a href="{html.escape(p)}/">{html.escape(p)}</a><br/>\n' for p in projects
            )
            self._send(200, _page("Simple index", links), html_type, head)
        elif len(parts) in (3, 4) and parts[1] == "simple" and parts[2]:
            name = parts[2]
            if normalize(name) != name or len(parts) == 3:
                self._send(301, b"", html_type, head, f"/simple/{normalize(name)}/")
            elif name not in projects or parts[3]:
                self._send(404, b"not found\n", "text/plain", head)
            else:
                links = ""
                for f in files:
                    if _project_of(f) == name:
                        digest = hashlib.sha256((dists / f).read_bytes()).hexdigest()
                        href = f"../../files/{urllib.parse.quote(f)}#sha256={digest}"
                        links += f'<a href="{html.escape(href)}">{html.escape(f)}</a><br/>\n'
                self._send(200, _page(f"Links for {name}", links), html_type, head)
        elif len(parts) == 3 and parts[1] == "files" and parts[2] in files:
            self._send(200, (dists / parts[2]).read_bytes(), "application/octet-stream", head)
        else:
            self._send(404, b"not found\n", "text/plain", head)


def _page(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}</body></html>\n"
    ).encode()


class _IndexServer(_TrackingServer):
    ssl_context: ssl.SSLContext
    index: TlsIndex


class _Served:
    """A server running in the background: counts connections, closes once."""

    _server: _TrackingServer
    _closed = False

    @property
    def connections(self) -> int:
        """TCP connections accepted so far (counted before any TLS handshake)."""
        return self._server.connections

    def close(self) -> None:
        """Stop serving and join every handler thread (idempotent)."""
        if not self._closed:
            self._closed = True
            self._server.stop()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


class TlsIndex(_Served):
    """A PEP 503 index over HTTPS on 127.0.0.1, serving the files in ``dists``.

    Starts serving on construction; use as a context manager (or call
    :meth:`close`). ``dists`` is re-read on every request.

    Attributes: ``port``, ``url`` (https://localhost:PORT/simple/), ``ip_url``
    (https://127.0.0.1:PORT/simple/), ``requests`` (paths served after a
    successful handshake), ``handshake_errors`` (server-side TLS failures).
    """

    def __init__(
        self, pki: Pki, dists: Path, leaf: str = "good", require_client_cert: bool = False
    ) -> None:
        self.pki = pki
        self.dists = dists
        self.leaf = leaf
        self.requests: List[str] = []
        self.handshake_errors: List[str] = []
        self._server = _IndexServer(_IndexHandler)
        self._server.ssl_context = pki.server_context(leaf, require_client_cert=require_client_cert)
        self._server.index = self
        self.port: int = self._server.server_address[1]
        self.url = f"https://localhost:{self.port}/simple/"
        self.ip_url = f"https://127.0.0.1:{self.port}/simple/"
        self._server.start()


# -------------------------------------------------------------- CONNECT proxy


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    rbufsize = 0  # unbuffered: no tunnel bytes may get stuck in a read buffer
    server: _ProxyServer

    def setup(self) -> None:
        tls = self.server.proxy.tls
        if tls is not None:  # an https:// proxy: TLS to the proxy itself first
            self.request.settimeout(self.timeout)
            try:
                self.request = tls.wrap_socket(self.request, server_side=True)
            except OSError as exc:
                self.server.proxy.handshake_errors.append(str(exc))
                raise
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_CONNECT(self) -> None:
        target = self.path
        self.server.proxy.tunnels.append(target)
        self.close_connection = True
        host, _, port = target.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except (OSError, ValueError) as exc:
            self.send_error(502, f"cannot reach {target}: {exc}")
            return
        with upstream:
            self.send_response(200, "Connection established")
            self.end_headers()
            _pump(self.connection, upstream)

    def _refuse(self) -> None:
        self.close_connection = True
        self.send_error(405, "only CONNECT is supported")

    do_GET = do_POST = do_HEAD = _refuse


def _pump(a: socket.socket, b: socket.socket, idle: float = 60.0) -> None:
    """Copy bytes both ways until either side closes or ``idle`` seconds pass."""
    peer = {a: b, b: a}
    while True:
        readable, _, _ = select.select([a, b], [], [], idle)
        if not readable:
            return
        for sock in readable:
            try:
                data = sock.recv(65536)
                if not data:
                    return
                pending = getattr(sock, "pending", None)  # TLS: decrypted bytes select misses
                while pending is not None and pending():
                    data += sock.recv(pending())
                peer[sock].sendall(data)
            except OSError:
                return


class _ProxyServer(_TrackingServer):
    proxy: ConnectProxy


class ConnectProxy(_Served):
    """A CONNECT proxy on 127.0.0.1 recording each tunnel's "host:port".

    With ``tls`` (a server context, e.g. :meth:`Pki.proxy_context`) it is an
    ``https://`` proxy: clients speak TLS to the proxy, then tunnel inside it.
    ``handshake_errors`` holds the TLS failures on that first leg.
    """

    def __init__(self, tls: Optional[ssl.SSLContext] = None) -> None:
        self.tls = tls
        self.tunnels: List[str] = []
        self.handshake_errors: List[str] = []
        self._server = _ProxyServer(_ProxyHandler)
        self._server.proxy = self
        self.port: int = self._server.server_address[1]
        scheme, host = ("https", "localhost") if tls is not None else ("http", "127.0.0.1")
        self.url = f"{scheme}://{host}:{self.port}"
        self._server.start()


# ------------------------------------------------------------- interpreters


_probe_cache: Dict[str, Optional[Path]] = {}


def _probe(candidate: str, version: str) -> Optional[Path]:
    """Real path of ``candidate`` if it runs and is CPython ``version``, else None."""
    key = f"{candidate}|{version}"
    if key not in _probe_cache:
        code = "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"
        code += "; print(sys.executable)"
        result: Optional[Path] = None
        try:
            out = subprocess.run(
                [candidate, "-c", code],
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
            impl, found, exe = (out.stdout.strip().split(None, 2) + ["", "", ""])[:3]
            if out.returncode == 0 and impl == "cpython" and found == version and exe:
                result = Path(exe)
        except (OSError, subprocess.SubprocessError):
            pass
        _probe_cache[key] = result
    return _probe_cache[key]


def _pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
    return Path.home() / ".pyenv"


def python_env_var(version: str) -> str:
    """Name of the variable that overrides the interpreter, e.g. TRUSTSHIM_PYTHON_3_13."""
    return "TRUSTSHIM_PYTHON_" + version.replace(".", "_")


def find_python(version: str) -> Optional[Path]:
    """Find a working CPython ``version`` ("3.11"); returns its real executable.

    Order: ``$TRUSTSHIM_PYTHON_3_11`` if set (and then only that), else
    ``python3.11`` on PATH, else ``<pyenv root>/versions/3.11*/bin/python3.11``.
    Each candidate is run to check it (pyenv shims on PATH may refuse to run).
    """
    override = os.environ.get(python_env_var(version))
    if override:
        return _probe(override, version)
    candidates: List[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pattern = str(_pyenv_root() / "versions" / f"{version}*" / "bin" / f"python{version}")
    candidates.extend(sorted(glob.glob(pattern), reverse=True))
    for candidate in candidates:
        found = _probe(candidate, version)
        if found is not None:
            return found
    return None


def require_python(version: str) -> Path:
    """Like :func:`find_python` but ``pytest.skip`` loudly when it is missing."""
    found = find_python(version)
    if found is None:
        pytest.skip(
            f"CPython {version} not found (set {python_env_var(version)}, "
            f"put python{version} on PATH, or install it with pyenv)"
        )
    return found


# ------------------------------------------------------------------- venvs


def scrubbed_env(
    venv_bin: Path,
    home: Path,
    config_file: Optional[str] = None,
    extra: Optional[Dict[str, str]] = None,
) -> Dict[str, str]:
    """An environment built from scratch for a pip run under test.

    Only PATH (``venv_bin`` first), HOME, PIP_CONFIG_FILE (``/dev/null`` unless
    ``config_file``), PIP_DISABLE_PIP_VERSION_CHECK, PIP_NO_INPUT, LC_ALL and
    ``extra``; nothing is inherited from ``os.environ``.
    """
    env = {
        "PATH": f"{venv_bin}{os.pathsep}{SYSTEM_PATH}",
        "HOME": str(home),
        "PIP_CONFIG_FILE": config_file if config_file is not None else os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "LC_ALL": "C.UTF-8",
    }
    env.update(extra or {})
    return env


@dataclass
class Venv:
    """A virtualenv with a pinned pip; run things in it with a scrubbed env."""

    path: Path
    python: Path
    bin: Path
    python_version: str
    pip_version: str

    def run(
        self,
        args: List[str],
        home: Path,
        env: Optional[Dict[str, str]] = None,
        config_file: Optional[str] = None,
        cwd: Optional[Path] = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``[python, *args]`` with :func:`scrubbed_env`; text output is captured.

        The working directory is ``cwd``, else HOME: never the checkout, whose
        ``pip_trustshim`` would shadow the installed wheel under ``-m``.
        """
        return subprocess.run(
            [str(self.python), *args],
            env=scrubbed_env(self.bin, home, config_file, env),
            cwd=str(cwd if cwd is not None else home),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def pip(
        self,
        args: List[str],
        home: Path,
        env: Optional[Dict[str, str]] = None,
        config_file: Optional[str] = None,
        cwd: Optional[Path] = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m pip *args`` (see :meth:`run`)."""
        return self.run(
            ["-m", "pip", *args], home, env=env, config_file=config_file, cwd=cwd, timeout=timeout
        )

    def site_packages(self) -> Path:
        """The venv's purelib directory."""
        (found,) = (self.path / "lib").glob("python*/site-packages")
        return found


def cache_root() -> Path:
    """``$TRUSTSHIM_TEST_CACHE`` or ``<repo>/.test-cache`` (git-ignored by its own .gitignore)."""
    root = Path(os.environ.get("TRUSTSHIM_TEST_CACHE") or REPO_ROOT / ".test-cache")
    root.mkdir(parents=True, exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return root


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """Exclusive ``flock`` on ``lock_file`` (serializes concurrent pytest sessions)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _check(cmd: List[str], env: Optional[Dict[str, str]], what: str) -> None:
    proc = subprocess.run(
        [str(c) for c in cmd],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} failed ({proc.returncode}): {cmd}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )


def wheel_cache() -> Path:
    """Directory of downloaded wheels (pip==X, certifi, truststore); see :func:`download_wheel`."""
    path = cache_root() / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def download_wheel(requirement: str, python_version: str) -> None:
    """Download one requirement's wheel into :func:`wheel_cache`, once per (requirement, Python).

    This is setup, not a test: it uses the machine's ambient environment (proxy CA,
    pip config) with ``sys.executable -m pip download``.
    """
    cache = wheel_cache()
    marker = cache / f".done-{re.sub(r'[^A-Za-z0-9.=]+', '_', requirement)}-py{python_version}"
    with _locked(cache / ".lock"):
        if marker.exists():
            return
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps"]
        cmd += [
            "--only-binary=:all:",
            "--python-version",
            python_version,
            "-d",
            str(cache),
            requirement,
        ]
        _check(cmd, None, f"downloading {requirement}")
        marker.write_text("ok\n")


def _snapshot(site_packages: Path) -> List[str]:
    return sorted(p.name for p in site_packages.iterdir() if p.name != "__pycache__")


def _pip_wheel(pip_version: str) -> Path:
    """The cached wheel of pip ``pip_version`` (``py3`` or, for old pips, ``py2.py3``)."""
    found = sorted(wheel_cache().glob(f"pip-{pip_version}-*.whl"))
    if not found:
        raise RuntimeError(f"no wheel of pip {pip_version} in {wheel_cache()}")
    return found[-1]


def _build_venv(path: Path, python: Path, python_version: str, pip_version: str) -> None:
    """(Re)create a venv with pip==X, certifi and (3.10+) truststore from the wheel cache.

    One recipe for every interpreter: ``-m venv --without-pip`` (Debian's
    CPython has no ``ensurepip``), then the pinned pip, run from its own wheel
    (``python pip-X.whl/pip install ...``), installs itself and the rest from
    the cache with ``--no-index``. Nothing else lands in the venv (in
    particular no setuptools, which ``ensurepip`` adds on CPython < 3.12).
    """
    requirements = [f"pip=={pip_version}", "certifi"]
    if tuple(int(x) for x in python_version.split(".")[:2]) >= (3, 10):
        requirements.append("truststore")
    for requirement in requirements:
        download_wheel(requirement, python_version)
    pip_wheel = _pip_wheel(pip_version)
    shutil.rmtree(path, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="trustshim-home-") as home:
        env = scrubbed_env(python.parent, Path(home))
        _check(
            [str(python), "-m", "venv", "--without-pip", str(path)],
            env,
            f"creating venv {path.name}",
        )
        venv_env = scrubbed_env(path / "bin", Path(home))
        cmd = [
            str(path / "bin" / "python"),
            str(pip_wheel / "pip"),
            "install",
            "--disable-pip-version-check",
            "--no-index",
        ]
        _check(
            cmd + ["--find-links", str(wheel_cache()), *requirements],
            venv_env,
            f"populating {path.name}",
        )
        check = subprocess.run(
            [str(path / "bin" / "python"), "-m", "pip", "--version"],
            env=venv_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if not check.stdout.startswith(f"pip {pip_version} "):
            raise RuntimeError(
                f"pip {pip_version} does not work on Python {python_version} ({python}):\n"
                f"{check.stdout}{check.stderr}"
            )


def _venv(path: Path, python_version: str, pip_version: str) -> Venv:
    return Venv(path, path / "bin" / "python", path / "bin", python_version, pip_version)


def _ready(path: Path, venv: Venv, extra: Dict[str, str]) -> bool:
    """True when ``path`` was fully built with ``extra`` info and nothing was installed since."""
    try:
        info = json.loads((path / _MARKER).read_text())
        return bool(
            info["snapshot"] == _snapshot(venv.site_packages())
            and all(info.get(k) == v for k, v in extra.items())
        )
    except (OSError, ValueError, KeyError):
        return False


def _mark(venv: Venv, **extra: str) -> None:
    info: Dict[str, Any] = {"snapshot": _snapshot(venv.site_packages()), **extra}
    (venv.path / _MARKER).write_text(json.dumps(info, indent=1))


def _install_project(venv: Venv, project_wheel: Path) -> None:
    """``pip install --no-index --no-deps --force-reinstall <wheel>``, scrubbed."""
    cmd = [str(venv.python), "-m", "pip", "install", "--disable-pip-version-check", "--no-index"]
    cmd += ["--no-deps", "--force-reinstall", str(project_wheel)]
    with tempfile.TemporaryDirectory(prefix="trustshim-home-") as home:
        _check(cmd, scrubbed_env(venv.bin, Path(home)), f"installing {project_wheel.name}")


def fresh_venv(
    path: Path, python_version: str, pip_version: str, project_wheel: Optional[Path]
) -> Venv:
    """A private, uncached venv at ``path`` (same recipe as :func:`make_venv`).

    For tests that modify the venv (install, uninstall, patch files). Costs a
    venv creation (a few seconds); the wheels still come from the cache.
    Skips the test when the interpreter is missing.
    """
    python = require_python(python_version)
    _build_venv(path, python, python_version, pip_version)
    venv = _venv(path, python_version, pip_version)
    if project_wheel is not None:
        _install_project(venv, project_wheel)
    return venv


def make_venv(python_version: str, pip_version: str, project_wheel: Optional[Path]) -> Venv:
    """A cached venv for (Python, pip); with ``project_wheel``, one that has it installed.

    Venvs live under :func:`cache_root` ``/venvs`` and are reused across runs. A venv
    is rebuilt when its marker is missing (half-built) or when its site-packages
    no longer match the snapshot taken at build time (a test installed into it).
    The project venv reinstalls the wheel only when its sha256 changed.
    Skips the test when the interpreter is missing.
    """
    python = require_python(python_version)
    venvs = cache_root() / "venvs"
    name = f"py{python_version}-pip{pip_version}"
    base = {"python": str(python), "pip_version": pip_version, "recipe": VENV_RECIPE}
    if project_wheel is None:
        path = venvs / name
        with _locked(venvs / f"{name}.lock"):
            venv = _venv(path, python_version, pip_version)
            if not _ready(path, venv, base):
                _build_venv(path, python, python_version, pip_version)
                _mark(venv, **base)
        return venv
    path = venvs / f"{name}-with-project"
    digest = hashlib.sha256(project_wheel.read_bytes()).hexdigest()
    with _locked(venvs / f"{name}-with-project.lock"):
        venv = _venv(path, python_version, pip_version)
        if not _ready(path, venv, {**base, "project_sha256": digest}):
            if not _ready(path, venv, base):  # broken or dirty beyond the project: start over
                _build_venv(path, python, python_version, pip_version)
            _install_project(venv, project_wheel)
            _mark(venv, **base, project_sha256=digest)
    return venv


# ------------------------------------------------------------ project wheel


def build_project_wheel(out_dir: Path, project_dir: Path = REPO_ROOT) -> Path:
    """Build the project's wheel into ``out_dir`` (``pip wheel --no-deps --no-build-isolation``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        cmd = [sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps"]
        _check(
            cmd + ["--no-build-isolation", "-w", tmp, str(project_dir)],
            None,
            f"building a wheel of {project_dir}",
        )
        (built,) = Path(tmp).glob("*.whl")
        target = out_dir / built.name
        os.replace(built, target)
    return target


# ------------------------------------------------------- running pip in tests

UNKNOWN_ISSUER = "unable to get local issuer certificate"
#: (CPython, pip) pairs of the default run: old urllib3 1.x pip, newest pip
DEFAULT_PIPS = [("3.11", "23.2.1"), ("3.13", "26.3")]
#: the rest of the full matrix (``-m matrix``, ``tox -e matrix``)
MATRIX_PIPS = [
    ("3.8", "20.3.4"),
    ("3.8", "25.0.1"),
    ("3.9", "21.3.1"),
    ("3.9", "22.3.1"),
    ("3.10", "23.0.1"),
    ("3.11", "24.0"),
    ("3.12", "24.1"),
    ("3.12", "24.2"),
    ("3.12", "25.0.1"),
    ("3.13", "25.3"),
    ("3.14", "25.3"),
    ("3.14", "26.3"),
    ("3.15", "26.3"),
]


def pip_at_least(venv: Venv, version: str) -> bool:
    """Whether the venv's pip is ``version`` or newer."""

    def parts(text: str) -> Tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", text)[:3])

    return parts(venv.pip_version) >= parts(version)


def download(
    venv: Venv,
    home: Path,
    url: str,
    env: Optional[Dict[str, str]] = None,
    args: Optional[List[str]] = None,
    config_file: Optional[str] = None,
) -> subprocess.CompletedProcess[str]:
    """``pip download tinypkg`` from ``url`` into a fresh directory under HOME."""
    dest = home / "downloads"
    shutil.rmtree(dest, ignore_errors=True)
    command = ["download", "--no-deps", "--retries", "0", "--timeout", "20"]
    command += ["-d", str(dest), "--index-url", url, *(args or []), "tinypkg"]
    return venv.pip(command, home, env=env, config_file=config_file)


def shim(store: str, **more: str) -> Dict[str, str]:
    """Environment that switches the shim on with ``store``."""
    return {"PIP_TRUSTSHIM": "1", "PIP_TRUSTSHIM_STORE": store, **more}


def assert_downloaded(proc: subprocess.CompletedProcess[str], home: Path) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (home / "downloads" / "tinypkg-1.0-py3-none-any.whl").is_file()
    assert "pip-trustshim" not in proc.stderr


def assert_refused(proc: subprocess.CompletedProcess[str], home: Path, reason: str) -> None:
    """pip failed because certificate verification failed, for ``reason``."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert not (home / "downloads" / "tinypkg-1.0-py3-none-any.whl").exists()
    assert "CERTIFICATE_VERIFY_FAILED" in out, out
    assert reason in out, out


def assert_shim_error(
    proc: subprocess.CompletedProcess[str], index: TlsIndex, *expected: str
) -> None:
    """pip stopped with one ``pip-trustshim:`` line, no traceback, no connection."""
    lines = [line for line in proc.stderr.splitlines() if "pip-trustshim:" in line]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(("pip-trustshim:", "ERROR: pip-trustshim:")), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert index.connections == 0


def write_config(path: Path, **settings: str) -> Path:
    """A pip.conf with a ``[trustshim]`` section (keys given with '_' for '-')."""
    body = "".join(f"{key.replace('_', '-')} = {value}\n" for key, value in settings.items())
    path.write_text(f"[trustshim]\n{body}")
    return path
