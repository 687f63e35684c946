"""Build the one ``ssl.SSLContext`` that trusts exactly the chosen certificates.

The store (``system``, ``certifi`` or a bundle path), then every extra CA.
Every context is ``PROTOCOL_TLS_CLIENT``: certificate and hostname checks on.
Anything that cannot be loaded is an error naming the setting; there is no
fallback to another store.
"""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
from typing import Any, Callable, List, Optional, Tuple

from .settings import Setting, Settings, expand

PYTHON = (sys.version_info[0], sys.version_info[1])
_HASHED_NAME = re.compile(r"^[0-9a-fA-F]{8}\.r?[0-9]+$")

# Where truststore (and so pip) looks when OpenSSL's defaults hold nothing.
LINUX_CA_FILES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)
MACOS_KEYCHAINS = (
    "/System/Library/Keychains/SystemRootCertificates.keychain",
    "/Library/Keychains/System.keychain",
)


def build_context(settings: Settings) -> ssl.SSLContext:
    """The store plus the extra CAs, in one verifying client context."""
    context = store_context(settings.store)
    for path in settings.extra_ca_paths():
        load_bundle(context, path, settings.extra_ca)
    return context


def store_context(store: Setting) -> ssl.SSLContext:
    """A verifying client context holding only the store ``store`` names."""
    if store.value == "system":
        return system_context(store)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if store.value == "certifi":
        load_bundle(context, certifi_bundle(store), store)
    else:
        path = expand(store.value)
        if not os.path.exists(path):
            raise store.error("neither 'system', 'certifi' nor an existing file or directory")
        load_bundle(context, path, store)
    return context


def certifi_bundle(store: Setting) -> str:
    """The installed certifi package's bundle (not pip's vendored copy)."""
    try:
        import certifi
    except ImportError:
        raise store.error("the certifi package is not installed (pip install certifi)") from None
    return str(certifi.where())


def truststore_module(store: Setting) -> Any:
    """The installed truststore, else the copy pip vendors (pip >= 23.3)."""
    try:
        import truststore

        return truststore
    except ImportError:
        pass
    try:
        from pip._vendor import truststore as vendored  # type: ignore[attr-defined]

        return vendored
    except ImportError:
        raise store.error(
            "the system store needs truststore on Python >= 3.10 (pip install truststore)"
        ) from None


def system_context(
    store: Setting, platform: str = sys.platform, version: Tuple[int, int] = PYTHON
) -> ssl.SSLContext:
    """The operating system's store, the way pip >= 24.2 reaches it."""
    if platform.startswith("linux") or "bsd" in platform:
        if not linux_store_exists():
            raise store.error(
                "no system store found (OpenSSL's default paths and the usual "
                "bundle files hold no certificates; set SSL_CERT_FILE or use a bundle path)"
            )
    if version >= (3, 10):
        context: ssl.SSLContext = truststore_module(store).SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return context
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if platform == "win32":
        der = windows_store_der(store, getattr(ssl, "enum_certificates", None))
        context.load_verify_locations(cadata=der)
    elif platform == "darwin":
        context.load_verify_locations(cadata=macos_store_pem(store, _run))
    else:
        _load_openssl_defaults(context)
    return context


def linux_store_exists() -> bool:
    """Whether OpenSSL's defaults or a well-known bundle file hold certificates."""
    return _openssl_defaults_hold_certs() or any(map(os.path.isfile, LINUX_CA_FILES))


def _openssl_defaults_hold_certs() -> bool:
    """Whether OpenSSL's default cafile exists or its capath has hashed certs."""
    defaults = ssl.get_default_verify_paths()
    return bool(defaults.cafile or (defaults.capath and has_hashed_certs(defaults.capath)))


def _load_openssl_defaults(context: ssl.SSLContext) -> None:
    if _openssl_defaults_hold_certs():
        context.set_default_verify_paths()
        return
    for path in LINUX_CA_FILES:
        if os.path.isfile(path):
            context.load_verify_locations(cafile=path)
            return


def windows_store_der(store: Setting, enum_certificates: Optional[Callable[[str], Any]]) -> bytes:
    """DER certificates of the Windows ROOT and CA stores trusted for TLS."""
    if enum_certificates is None:
        raise store.error("this Python cannot read the Windows certificate stores")
    server_auth = "1.3.6.1.5.5.7.3.1"
    der: List[bytes] = []
    for store_name in ("ROOT", "CA"):
        for cert, encoding, trust in enum_certificates(store_name):
            if encoding == "x509_asn" and (trust is True or server_auth in trust):
                der.append(cert)
    if not der:
        raise store.error("the Windows ROOT and CA stores hold no certificate trusted for TLS")
    return b"".join(der)


def macos_store_pem(store: Setting, run: Callable[[List[str]], str]) -> str:
    """PEM certificates of the macOS system keychains, via ``security``."""
    try:
        pem = run(["/usr/bin/security", "find-certificate", "-a", "-p", *MACOS_KEYCHAINS])
    except (OSError, subprocess.CalledProcessError) as error:
        raise store.error(f"cannot export the system keychains: {error}") from None
    if "BEGIN CERTIFICATE" not in pem:
        raise store.error("the system keychains hold no certificates")
    return pem


def _run(command: List[str]) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def has_hashed_certs(directory: str) -> bool:
    """Whether a directory holds OpenSSL hashed names (``1a2b3c4d.0``)."""
    try:
        return any(_HASHED_NAME.match(name) for name in os.listdir(directory))
    except OSError:
        return False


def load_bundle(context: ssl.SSLContext, path: str, setting: Setting) -> None:
    """Add a PEM file or a hashed directory to ``context``, or say why not."""
    where = "" if path == setting.value else f"{path!r}: "
    if os.path.isdir(path):
        if not os.access(path, os.R_OK | os.X_OK):
            raise setting.error(f"directory {path!r} cannot be read (permission denied)")
        if not has_hashed_certs(path):
            raise setting.error(
                f"directory {path!r} holds no OpenSSL-hashed certificates "
                "(run 'openssl rehash' on it, or name a PEM file)"
            )
        context.load_verify_locations(capath=path)
        return
    try:
        context.load_verify_locations(cafile=path)
    except FileNotFoundError:
        raise setting.error(f"{where}no such file or directory") from None
    except PermissionError:
        raise setting.error(f"{where}permission denied") from None
    except ssl.SSLError:
        raise setting.error(f"{where}no PEM certificate in it") from None
    except (OSError, ValueError) as error:
        raise setting.error(f"{where}{getattr(error, 'strerror', None) or error}") from None
