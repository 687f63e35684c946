"""Servers on 127.0.0.1 for the tests, each running in background threads.

:class:`TlsIndex` is a PEP 503 index over HTTPS (with a leaf of
:mod:`lib.pki`), optionally behaving like nginx with ``ssl_verify_client
optional`` or wanting a password, :class:`HttpIndex` the same index over plain
HTTP (one handler, :class:`Index`); :class:`ConnectProxy` is a CONNECT proxy,
plain or itself over TLS, or one that bumps TLS like squid's ssl-bump and
answers with its own error page. Both count accepted TCP connections and
join every handler thread when closed (the shared :class:`_TrackingServer`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import select
import socket
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar

import trustme

from lib.dists import normalize, project_of
from lib.pki import Pki

_S = TypeVar("_S", bound="_Served")


# --------------------------------------------------------------------- shared


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


# ------------------------------------------------------------------ TLS index


class _IndexHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _IndexServer

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        if self.server.ssl_context is None:  # plain HTTP
            super().setup()
            return
        try:
            self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        except OSError as exc:
            self.server.index.handshake_errors.append(str(exc))
            raise
        _record_client(self.request, self.server.index.client_names)
        self.client_cert_presented = bool(self.request.getpeercert())
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
        index = self.server.index
        if index.nginx_client_cert and not self.client_cert_presented:
            self._nginx_400(head)
            return
        if index.password is not None and not self._authorised(index.password):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="index"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        dists = self.server.index.dists
        files = sorted(p.name for p in dists.iterdir() if p.is_file() and project_of(p.name))
        projects = sorted({project_of(f) or "" for f in files})
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
                    if project_of(f) == name:
                        digest = hashlib.sha256((dists / f).read_bytes()).hexdigest()
                        where = self.server.index.files_url or "../../files/"
                        href = f"{where}{urllib.parse.quote(f)}#sha256={digest}"
                        links += f'<a href="{html.escape(href)}">{html.escape(f)}</a><br/>\n'
                self._send(200, _page(f"Links for {name}", links), html_type, head)
        elif len(parts) == 3 and parts[1] == "files" and parts[2] in files:
            self._send(200, (dists / parts[2]).read_bytes(), "application/octet-stream", head)
        else:
            self._send(404, b"not found\n", "text/plain", head)

    def _nginx_400(self, head: bool) -> None:
        """What nginx answers with ``ssl_verify_client optional`` when no certificate came."""
        words = "No required SSL certificate was sent"
        body = (
            f"<html>\r\n<head><title>400 {words}</title></head>\r\n<body>\r\n"
            f"<center><h1>400 Bad Request</h1></center>\r\n<center>{words}</center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        ).encode()
        self.version_string = lambda: "nginx"  # type: ignore[method-assign]
        self._send(400, body, "text/html", head)

    def _authorised(self, password: Tuple[str, str]) -> bool:
        token = base64.b64encode(":".join(password).encode()).decode()
        return self.headers.get("Authorization", "") == f"Basic {token}"


def _record_client(sock: Any, names: List[str]) -> None:
    """When the client presented a certificate, append its subject's common name."""
    peer = sock.getpeercert()
    if peer:
        subject = [value for rdn in peer.get("subject", ()) for key, value in rdn]
        common = [v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"]
        names.append(", ".join(common or subject))


def _page(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}</body></html>\n"
    ).encode()


class _IndexServer(_TrackingServer):
    ssl_context: Optional[ssl.SSLContext]  # None: plain HTTP
    index: Index


class Index(_Served):
    """A PEP 503 index on 127.0.0.1 serving the files in ``dists``, over TLS with
    ``context``, else over plain HTTP; see :class:`TlsIndex` and :class:`HttpIndex`."""

    #: answer 400 as nginx does when no client certificate came (TLS only)
    nginx_client_cert = False
    #: (user, password) a request must carry, else 401
    password: Optional[Tuple[str, str]] = None

    def __init__(self, dists: Path, context: Optional[ssl.SSLContext], files_url: str = "") -> None:
        self.dists = dists
        self.files_url = files_url
        self.requests: List[str] = []
        self.handshake_errors: List[str] = []
        self.client_names: List[str] = []
        self._server = _IndexServer(_IndexHandler)
        self._server.ssl_context = context
        self._server.index = self
        self.port: int = self._server.server_address[1]
        scheme = "https" if context is not None else "http"
        self.url = f"{scheme}://localhost:{self.port}/simple/"
        self.ip_url = f"{scheme}://127.0.0.1:{self.port}/simple/"
        self._server.start()


class HttpIndex(Index):
    """The index over plain HTTP on 127.0.0.1: ``url``, ``ip_url`` (http://...),
    ``requests`` and ``connections`` as for :class:`TlsIndex`."""

    def __init__(self, dists: Path) -> None:
        super().__init__(dists, None)


class TlsIndex(Index):
    """A PEP 503 index over HTTPS on 127.0.0.1, serving the files in ``dists``.

    Starts serving on construction; use as a context manager (or call
    :meth:`close`). ``dists`` is re-read on every request.

    Attributes: ``port``, ``url`` (https://localhost:PORT/simple/), ``ip_url``
    (https://127.0.0.1:PORT/simple/), ``requests`` (paths served after a
    successful handshake), ``handshake_errors`` (server-side TLS failures),
    ``client_names`` (the subject of each client certificate presented).

    ``context`` replaces the ``leaf``'s server context (a leaf for other
    names, see :meth:`Pki.named_context`); ``ask_client_cert`` asks every
    client for a certificate issued by ``pki.ca`` without requiring one;
    ``files_url`` makes the project pages link their files there (another
    server's ``.../files/``) instead of to this server. ``nginx_client_cert``
    asks for a client certificate issued by ``pki.ca`` and, when none comes,
    completes the handshake and answers HTTP 400 "No required SSL certificate
    was sent", as nginx does with ``ssl_verify_client optional``;
    ``password`` (user, password) answers 401 to a request without them.
    """

    def __init__(
        self,
        pki: Pki,
        dists: Path,
        leaf: str = "good",
        require_client_cert: bool = False,
        context: Optional[ssl.SSLContext] = None,
        ask_client_cert: bool = False,
        files_url: str = "",
        nginx_client_cert: bool = False,
        password: Optional[Tuple[str, str]] = None,
    ) -> None:
        self.pki = pki
        self.leaf = leaf
        self.nginx_client_cert = nginx_client_cert
        self.password = password
        if context is None:
            context = pki.server_context(leaf, require_client_cert=require_client_cert)
        if ask_client_cert or nginx_client_cert:
            context.verify_mode = ssl.CERT_OPTIONAL
            pki.ca.configure_trust(context)
        super().__init__(dists, context, files_url)


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
            _record_client(self.request, self.server.proxy.client_names)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_CONNECT(self) -> None:
        target = self.path
        self.close_connection = True
        password = self.server.proxy.password
        if password is not None:
            token = base64.b64encode(":".join(password).encode()).decode()
            if self.headers.get("Proxy-Authorization", "") != f"Basic {token}":
                self.send_response(407, "Proxy Authentication Required")
                self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.server.proxy.tunnels.append(target)
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        if self.server.proxy.bump is not None:
            self._bump()
            return
        if host in self.server.proxy.aliases:  # a name only this proxy knows
            host, port = "127.0.0.1", str(self.server.proxy.aliases[host])
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except (OSError, ValueError) as exc:
            self.send_error(502, f"cannot reach {target}: {exc}")
            return
        with upstream:
            self.send_response(200, "Connection established")
            self.end_headers()
            _pump(self.connection, upstream)

    def _bump(self) -> None:
        """squid's ssl-bump when it cannot reach the server: TLS with a forged leaf,
        then its own error page for the request inside."""
        proxy = self.server.proxy
        self.send_response(200, "Connection established")
        self.end_headers()
        bump = proxy.bump
        assert bump is not None
        with bump.wrap_socket(self.connection, server_side=True) as tls:
            request = tls.makefile("rb")
            line = request.readline(65537).decode("latin-1").strip()
            while request.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            proxy.bumped.append(line)
            body = (
                b"<html><head><title>ERROR: The requested URL could not be retrieved</title>"
                b"</head><body><p>The system returned: (111) Connection refused</p></body></html>"
            )
            head = (
                f"HTTP/1.1 {proxy.bump_status} Bad Gateway\r\nServer: {proxy.server}\r\n"
                "Via: 1.1 bump.corp.test (squid/6.10)\r\nX-Squid-Error: ERR_CONNECT_FAIL 111\r\n"
                f"Content-Type: text/html\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            tls.sendall(head + body)

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
    ``aliases`` maps host names to ports on 127.0.0.1: the proxy is their DNS,
    so tests can use names like ``pypi.corp.test`` without touching the machine.
    With ``ask_client_cert`` (and ``tls``) it asks every client for a certificate
    issued by ``ask_client_cert`` without requiring one; ``client_names`` holds the
    subject of each certificate presented to the proxy itself.
    With ``bump`` (a server context, e.g. :meth:`Pki.bump_context`) it accepts
    every CONNECT, speaks TLS itself with that leaf inside the tunnel and
    answers ``bump_status`` with squid's headers (``server`` as its Server
    header), as squid's ssl-bump does when the server cannot be reached;
    ``bumped`` holds each request line. With ``password`` (user, password) a
    CONNECT without them is answered 407.
    """

    def __init__(
        self,
        tls: Optional[ssl.SSLContext] = None,
        aliases: Optional[Dict[str, int]] = None,
        ask_client_cert: Optional[trustme.CA] = None,
        bump: Optional[ssl.SSLContext] = None,
        bump_status: int = 502,
        server: str = "squid/6.10",
        password: Optional[Tuple[str, str]] = None,
    ) -> None:
        self.password = password
        if ask_client_cert is not None and tls is not None:
            tls.verify_mode = ssl.CERT_OPTIONAL
            ask_client_cert.configure_trust(tls)
        self.tls = tls
        self.aliases = dict(aliases or {})
        self.bump = bump
        self.bump_status = bump_status
        self.server = server
        self.bumped: List[str] = []
        self.tunnels: List[str] = []
        self.handshake_errors: List[str] = []
        self.client_names: List[str] = []
        self._server = _ProxyServer(_ProxyHandler)
        self._server.proxy = self
        self.port: int = self._server.server_address[1]
        scheme, host = ("https", "localhost") if tls is not None else ("http", "127.0.0.1")
        self.url = f"{scheme}://{host}:{self.port}"
        self._server.start()
