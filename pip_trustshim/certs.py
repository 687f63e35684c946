"""Certificates as ``check`` shows them: subject, issuer, expiry, fingerprint;
and the CAs of a bundle that have expired or are not valid yet (``dated_cas``).

Standard library only. The chain the server sent comes from
``get_unverified_chain()`` (public from Python 3.13, private on 3.10-3.12),
else the leaf alone; DER is decoded by the ``ssl`` module's own parser
(``_ssl._test_decode_cert``, private but present on 3.8-3.13) through a
temporary PEM file. Anything unavailable degrades to the fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .stores import file_kind, hashed_names

_SHORT = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
}


@dataclass(frozen=True)
class CertInfo:
    """What a user needs to recognise one certificate."""

    subject: str
    issuer: str
    not_before: str
    not_after: str
    sha256: str


def chain_der(sock: Any) -> List[bytes]:
    """The certificates the server sent, leaf first, as DER."""
    try:
        public = getattr(sock, "get_unverified_chain", None)
        if public is not None:
            return [bytes(der) for der in public()]
        private = getattr(getattr(sock, "_sslobj", None), "get_unverified_chain", None)
        if private is not None:
            der_format = getattr(ssl, "_ssl").ENCODING_DER  # noqa: B009 - private module
            return [cert.public_bytes(der_format) for cert in private() or []]
    except Exception:
        pass
    leaf = sock.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def chain_readable() -> bool:
    """Whether this Python can read the whole chain a server sent (3.10+), not its leaf only."""
    private = getattr(getattr(ssl, "_ssl", None), "_SSLSocket", None)
    return hasattr(ssl.SSLSocket, "get_unverified_chain") or hasattr(
        private, "get_unverified_chain"
    )


def describe(der: bytes) -> CertInfo:
    """Subject, issuer, validity and SHA-256 fingerprint of one DER certificate."""
    fields = decode(der)
    digest = hashlib.sha256(der).hexdigest().upper()
    return CertInfo(
        subject=name(fields.get("subject", ())) or "?",
        issuer=name(fields.get("issuer", ())) or "?",
        not_before=str(fields.get("notBefore", "?")),
        not_after=str(fields.get("notAfter", "?")),
        sha256=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
    )


def decode(der: bytes) -> Dict[str, Any]:
    """``getpeercert()``-style fields of a DER certificate, or ``{}``."""
    decoder = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decoder is None:
        return {}
    handle, path = tempfile.mkstemp(suffix=".pem", prefix="pip-trustshim-")
    try:
        with os.fdopen(handle, "w") as pem:
            pem.write(ssl.DER_cert_to_PEM_cert(der))
        return dict(decoder(path))
    except Exception:
        return {}
    finally:
        os.unlink(path)


def name(rdns: Any) -> str:
    """An X.509 name from ``getpeercert()`` as ``CN=..., O=...``."""
    parts = []
    for rdn in rdns:
        for key, value in rdn:
            parts.append(f"{_SHORT.get(key, key)}={value}")
    return ", ".join(parts)


def dated_cas(path: str, now: Optional[float] = None) -> List[str]:
    """What is wrong with the dates of each CA in a PEM file or hashed directory.

    One phrase per CA certificate that has expired or is not valid yet
    (``'CN=Old CA' expired on 2024-05-01 12:00 UTC``), read as OpenSSL loads
    it. Nothing for a path that is not a regular file or a directory, or that
    OpenSSL cannot load: where pip loads it, that is an error of its own.
    """
    now = time.time() if now is None else now
    kind = file_kind(path)
    files = [path] if kind == "file" else []
    if kind == "directory":
        files = [os.path.join(path, name) for name in hashed_names(path)]
    found = []
    for name in files:
        if file_kind(name) != "file":
            continue  # never open a FIFO or a device
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_verify_locations(cafile=name)
        except (OSError, ssl.SSLError, ValueError):
            continue
        for cert in context.get_ca_certs():
            found += _dated(cert, now)
    return found


def _dated(cert: Dict[str, Any], now: float) -> List[str]:
    try:
        before = ssl.cert_time_to_seconds(cert["notBefore"])
        after = ssl.cert_time_to_seconds(cert["notAfter"])
    except (KeyError, ValueError):
        return []
    ca = f"the CA certificate {name(cert.get('subject', ())) or '?'!r}"
    if after < now:
        return [f"{ca} expired on {_day(after)}: a chain that ends in it is refused"]
    if before > now:
        return [f"{ca} is not valid until {_day(before)}: a chain that ends in it is refused"]
    return []


def _day(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def root_of(chain: List[bytes]) -> Optional[bytes]:
    """The self-signed certificate that ends ``chain`` (its root, as sent), or None."""
    if not chain:
        return None
    top = describe(chain[-1])
    return chain[-1] if top.subject == top.issuer and top.subject != "?" else None


def pem(der: bytes) -> str:
    """One certificate as a PEM block."""
    return ssl.DER_cert_to_PEM_cert(der)
