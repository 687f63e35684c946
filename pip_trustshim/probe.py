"""What ``check`` needs beyond pip's own request: the chain, and the other stores.

pip's session (``pipsession``) makes the request and says whether it worked.
When a certificate was refused, the diagnosis needs what pip cannot give: the
chain the server sent, and whether another store would have accepted it.
This module opens TLS connections of its own for that, along the route pip
took: directly, through an ``http://`` proxy's CONNECT tunnel, or through an
``https://`` proxy (TLS to the proxy, CONNECT inside it, then TLS to the
server inside that). It also turns any error of a connection, pip's own
included, into a short reason in plain words plus the system's own words.
Nothing here raises.
"""

from __future__ import annotations

import base64
import socket
import ssl
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .certs import chain_der

#: OpenSSL X509_V_ERR_* codes -> reason in plain words
VERIFY_REASONS = {
    2: "unknown issuer",
    9: "not yet valid",
    10: "expired",
    18: "self-signed certificate",
    19: "self-signed certificate in chain",
    20: "unknown issuer",
    21: "unknown issuer",
    62: "hostname mismatch",
    64: "hostname mismatch",
}
#: words in a verification message (truststore on macOS/Windows) -> reason
VERIFY_WORDS = (
    ("not yet valid", "not yet valid"),
    ("expired", "expired"),
    ("self signed certificate in", "self-signed certificate in chain"),
    ("self-signed certificate in", "self-signed certificate in chain"),
    ("self signed", "self-signed certificate"),
    ("self-signed", "self-signed certificate"),
    ("hostname", "hostname mismatch"),
    ("mismatch", "hostname mismatch"),
    ("issuer", "unknown issuer"),
)
#: a TLS alert from the server -> reason (the client certificate's fate, mostly)
ALERT_REASONS = (
    ("CERTIFICATE_REQUIRED", "client certificate required"),
    ("ALERT_BAD_CERTIFICATE", "client certificate refused"),
    ("ALERT_UNKNOWN_CA", "client certificate refused"),
    ("ALERT_CERTIFICATE_UNKNOWN", "client certificate refused"),
    ("ALERT_CERTIFICATE_EXPIRED", "client certificate refused"),
)


@dataclass(frozen=True)
class Route:
    """How a connection reaches its server: directly, or through a proxy."""

    #: the proxy's URL (``http://`` or ``https://``, credentials included), or None
    proxy: Optional[str] = None
    #: for an ``https://`` proxy: the context its own certificate is verified with
    proxy_context: Optional[ssl.SSLContext] = None


DIRECT = Route()


@dataclass
class Outcome:
    """How one handshake went."""

    ok: bool
    reason: str = ""  # plain words, empty when ok
    detail: str = ""  # the system's own words
    chain: List[bytes] = field(default_factory=list)  # DER, when the handshake passed
    verified_tls: bool = False  # a certificate was received and judged


class Failure(Exception):
    """A connection that failed before any certificate of the server could be judged."""

    def __init__(self, reason: str, detail: str, headers: Optional[Dict[str, str]] = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        #: a proxy's answer to CONNECT: its headers (``Server``, ``Via``...)
        self.headers = headers or {}


def handshake(
    host: str, port: int, context: ssl.SSLContext, timeout: float, route: Route = DIRECT
) -> Outcome:
    """Connect along ``route``, verify with ``context``; the chain sent when it passes."""
    try:
        sock = open_socket(host, port, timeout, route)
    except Failure as failure:
        return Outcome(False, failure.reason, failure.detail)
    try:
        tls = _tls(sock, context, host)
        return Outcome(True, chain=chain_der(tls), verified_tls=True)
    except ssl.SSLCertVerificationError as error:
        reason, detail = verify_reason(error)
        return Outcome(False, reason, detail, verified_tls=True)
    except Exception as error:
        broken = failure_of(error, "TLS handshake")
        return Outcome(False, broken.reason, broken.detail)
    finally:
        sock.close()


def unverified_chain(host: str, port: int, timeout: float, route: Route = DIRECT) -> List[bytes]:
    """The chain the server sends, fetched without judging it (``[]`` if none)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return handshake(host, port, context, timeout, route).chain


def verify_reason(error: ssl.SSLCertVerificationError) -> Tuple[str, str]:
    """Plain words, and OpenSSL's own, for a failed certificate check."""
    detail = str(getattr(error, "verify_message", "") or error)
    code = getattr(error, "verify_code", None)
    if code in VERIFY_REASONS:
        return VERIFY_REASONS[code], detail
    lowered = detail.lower()
    for words, reason in VERIFY_WORDS:
        if words in lowered:
            return reason, detail
    return "certificate not accepted", detail


def refusal(chain: List[BaseException]) -> Optional[Tuple[str, str]]:
    """The reason and words of a certificate refused in an error chain (OpenSSL's, or
    the host name check urllib3 1.x makes itself), or None."""
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return verify_reason(cause)
        if type(cause).__name__ == "CertificateError":  # urllib3 1.x's match_hostname
            return "hostname mismatch", str(cause)
    return None


def alert_after_handshake(
    host: str, port: int, context: ssl.SSLContext, timeout: float, route: Route = DIRECT
) -> str:
    """The reason a server gives, right after a TLS 1.3 handshake, for ending it (a
    client certificate it wanted: its alert may come after pip saw only an EOF), or ""."""
    try:
        sock = open_socket(host, port, timeout, route)
    except Failure:
        return ""
    try:
        tls = _tls(sock, context, host)
        if isinstance(tls, ssl.SSLSocket):  # (inside an https:// proxy's TLS: not asked)
            tls.settimeout(min(timeout, 2.0))
            with tls:
                tls.recv(1)
        return ""
    except ssl.SSLError as error:
        reason = _alert_reason(error)
        return "" if reason == "TLS failed" else reason
    except Exception:
        return ""
    finally:
        sock.close()


def causes(error: BaseException) -> List[BaseException]:
    """``error`` and everything it wraps (arguments, ``reason``, cause, context), outer first."""
    found: List[BaseException] = []
    waiting = [error]
    while waiting:
        current = waiting.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        inner: List[Any] = list(getattr(current, "args", ()))
        inner += [getattr(current, "reason", None), current.__cause__, current.__context__]
        waiting += [each for each in inner if isinstance(each, BaseException)]
    return found


def failure_of(error: BaseException, context: str = "") -> Failure:
    """Plain words for an error raised while connecting (pip's wrapped ones included)."""
    prefix = f"{context}: " if context else ""
    chain = causes(error)
    refused = refusal(chain)
    if refused is not None:
        return Failure(*refused)
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return Failure("unknown host", f"{prefix}{cause.strerror or cause}")
    for cause in chain:
        if isinstance(cause, (socket.timeout, TimeoutError)) or "Timeout" in type(cause).__name__:
            return Failure("timeout", f"{prefix}no answer in time")
    for cause in chain:
        if isinstance(cause, ConnectionRefusedError):
            return Failure("connection refused", f"{prefix}connection refused")
    for cause in chain:
        if isinstance(cause, ssl.SSLError):
            return Failure(_alert_reason(cause), f"{prefix}{cause}")
    for cause in chain:
        if isinstance(cause, ConnectionResetError):
            return Failure("connection reset", f"{prefix}{cause}")
    last = chain[-1]
    if isinstance(last, OSError):
        return Failure("connection failed", f"{prefix}{last.strerror or last}")
    return Failure("connection failed", f"{prefix}{type(last).__name__}: {last}")


def _alert_reason(error: ssl.SSLError) -> str:
    words = f"{getattr(error, 'reason', '')} {error}".upper()
    for alert, reason in ALERT_REASONS:
        if alert in words:
            return reason
    return "TLS failed"


def shown(proxy: str) -> str:
    """A proxy URL as the reports show it: without its credentials."""
    parts = urllib.parse.urlsplit(proxy)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def open_socket(host: str, port: int, timeout: float, route: Route = DIRECT) -> socket.socket:
    """A connection to ``host:port`` along ``route`` (a tunnel's end, for a proxy)."""
    if route.proxy is None:
        try:
            return socket.create_connection((host, port), timeout=timeout)
        except Exception as error:
            raise failure_of(error, f"cannot connect to {host}:{port}") from None
    return tunnel(route, host, port, timeout)


def tunnel(route: Route, host: str, port: int, timeout: float) -> socket.socket:
    """A CONNECT tunnel to ``host:port`` through the route's proxy (TLS to it first
    for an ``https://`` proxy)."""
    proxy = route.proxy or ""
    parts = urllib.parse.urlsplit(proxy)
    where = shown(proxy)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Failure("unsupported proxy", f"{where}: check speaks to http:// and https:// proxies")
    proxy_port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        sock = socket.create_connection((parts.hostname, proxy_port), timeout=timeout)
    except Exception as error:
        failure = failure_of(error)
        reason = (
            failure.reason if failure.reason in ("timeout", "unknown host") else "proxy refused"
        )
        raise Failure(reason, f"cannot connect to the proxy {where}: {failure.detail}") from None
    try:
        if parts.scheme == "https":
            context = route.proxy_context or ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=parts.hostname)
        status, headers = _connect(sock, parts, host, port)
    except Exception as error:
        sock.close()
        failure = failure_of(error)
        raise Failure(failure.reason, f"the proxy {where}: {failure.detail}") from None
    code = status.split(None, 2)[1:2]
    if code != ["200"]:
        sock.close()
        target = f"{host}:{port}"
        detail = f"the proxy {where} answered {status!r} to CONNECT {target}"
        reason = "proxy credentials required" if code == ["407"] else "proxy refused"
        raise Failure(reason, detail, headers)
    return sock


def _connect(sock: socket.socket, proxy: Any, host: str, port: int) -> Tuple[str, Dict[str, str]]:
    """Send CONNECT, read the proxy's answer up to the blank line; its status and headers."""
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if proxy.username:
        user = urllib.parse.unquote(proxy.username)
        secret = urllib.parse.unquote(proxy.password or "")
        token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
        lines.append(f"Proxy-Authorization: Basic {token}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    answer = b""
    while b"\r\n\r\n" not in answer and len(answer) < 65536:
        byte = sock.recv(1)  # one at a time: nothing past the header may be consumed
        if not byte:
            raise ConnectionResetError("the proxy closed the connection")
        answer += byte
    status, *fields = answer.decode("latin-1").split("\r\n")
    headers = {}
    for line in fields:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().title()] = value.strip()
    return status, headers


def _tls(sock: socket.socket, context: ssl.SSLContext, host: str) -> Any:
    """TLS to ``host`` over ``sock``; inside the TLS of an ``https://`` proxy, in memory."""
    if not isinstance(sock, ssl.SSLSocket):
        return context.wrap_socket(sock, server_hostname=host)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    inner = context.wrap_bio(incoming, outgoing, server_hostname=host)
    while True:
        try:
            inner.do_handshake()
        except ssl.SSLWantReadError:
            sock.sendall(outgoing.read())
            data = sock.recv(65536)
            if not data:
                raise ConnectionResetError("the proxy closed the tunnel") from None
            incoming.write(data)
            continue
        sock.sendall(outgoing.read())
        return inner
