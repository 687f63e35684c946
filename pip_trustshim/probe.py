"""One TLS handshake with a server, made the way pip makes it, and why it failed.

Direct, or through the ``HTTPS_PROXY``/``https_proxy`` (else ``ALL_PROXY``)
CONNECT tunnel unless ``NO_PROXY`` names the host, as requests picks a proxy
for pip. Every failure becomes a short reason in plain words plus the
system's own words; nothing raises.
"""

from __future__ import annotations

import base64
import socket
import ssl
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, List, Optional

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


@dataclass
class Outcome:
    """How one handshake went."""

    ok: bool
    reason: str = ""  # plain words, empty when ok
    detail: str = ""  # the system's own words
    chain: List[bytes] = field(default_factory=list)  # DER, when verified
    verified_tls: bool = False  # a certificate was received and judged


class Failure(Exception):
    """A connection that failed before any certificate could be judged."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def proxy_for(host: str, port: int) -> Optional[str]:
    """The proxy requests (and so pip) would use for ``https://host:port``."""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get("https") or proxies.get("all")
    if not proxy:
        return None
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if bypass(host, proxies) or bypass(f"{host}:{port}", proxies):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def handshake(
    host: str, port: int, context: ssl.SSLContext, timeout: float, proxy: Optional[str]
) -> Outcome:
    """Connect, verify with ``context``; the chain the server sent when it passes."""
    try:
        sock = open_socket(host, port, timeout, proxy)
    except Failure as failure:
        return Outcome(False, failure.reason, failure.detail)
    try:
        with context.wrap_socket(sock, server_hostname=host) as tls:
            return Outcome(True, chain=chain_der(tls), verified_tls=True)
    except ssl.SSLCertVerificationError as error:
        reason, detail = verify_reason(error)
        return Outcome(False, reason, detail, verified_tls=True)
    except Exception as error:
        broken = connection_failure(error, "TLS handshake")
        return Outcome(False, broken.reason, broken.detail)
    finally:
        sock.close()


def unverified_chain(host: str, port: int, timeout: float, proxy: Optional[str]) -> List[bytes]:
    """The chain the server sends, fetched without judging it (``[]`` if none)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    outcome = handshake(host, port, context, timeout, proxy)
    return outcome.chain


def verify_reason(error: ssl.SSLCertVerificationError) -> tuple[str, str]:
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


def open_socket(host: str, port: int, timeout: float, proxy: Optional[str]) -> socket.socket:
    """A TCP connection to ``host:port``, directly or through a CONNECT tunnel."""
    if proxy is None:
        try:
            return socket.create_connection((host, port), timeout=timeout)
        except Exception as error:
            raise connection_failure(error, f"cannot connect to {host}:{port}") from None
    return tunnel(proxy, host, port, timeout)


def shown(proxy: str) -> str:
    """A proxy URL as the reports show it: without its credentials."""
    parts = urllib.parse.urlsplit(proxy)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 80}"


def tunnel(proxy: str, host: str, port: int, timeout: float) -> socket.socket:
    """A CONNECT tunnel to ``host:port`` through an http:// proxy."""
    parts = urllib.parse.urlsplit(proxy)
    where = shown(proxy)
    if parts.scheme != "http" or not parts.hostname:
        raise Failure("unsupported proxy", f"{where}: check only speaks to http:// proxies")
    try:
        sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    except Exception as error:
        failure = connection_failure(error, "")
        reason = "timeout" if failure.reason == "timeout" else "proxy refused"
        raise Failure(reason, f"cannot connect to the proxy {where}: {failure.detail}") from None
    try:
        status = _connect(sock, parts, host, port)
    except Exception as error:
        sock.close()
        failure = connection_failure(error, "")
        raise Failure(failure.reason, f"the proxy {where}: {failure.detail}") from None
    if status.split(None, 2)[1:2] != ["200"]:
        sock.close()
        target = f"{host}:{port}"
        raise Failure("proxy refused", f"the proxy {where} answered {status!r} to CONNECT {target}")
    return sock


def _connect(sock: socket.socket, proxy: Any, host: str, port: int) -> str:
    """Send CONNECT, read the proxy's answer up to the blank line; its status line."""
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
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


def connection_failure(error: BaseException, context: str) -> Failure:
    """Plain words for an error raised while connecting."""
    prefix = f"{context}: " if context else ""
    if isinstance(error, socket.timeout):
        return Failure("timeout", f"{prefix}no answer in time")
    if isinstance(error, ConnectionRefusedError):
        return Failure("connection refused", f"{prefix}connection refused")
    if isinstance(error, socket.gaierror):
        return Failure("unknown host", f"{prefix}{error.strerror or error}")
    if isinstance(error, ConnectionResetError):
        return Failure("connection reset", f"{prefix}{error}")
    if isinstance(error, OSError):
        return Failure("connection failed", f"{prefix}{error.strerror or error}")
    return Failure("connection failed", f"{prefix}{type(error).__name__}: {error}")
