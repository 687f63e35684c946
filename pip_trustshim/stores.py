"""Build ``ssl.SSLContext`` objects from stores and CA bundles.

The store (``system``, ``certifi`` or a bundle path), and any PEM file or
OpenSSL hashed directory added to it. Every context is
``PROTOCOL_TLS_CLIENT`` with the certificate check on, and is exactly as
strict as a ``Template`` (read from the context pip itself would use): the
same verify flags, protocol versions, options, ciphers and host name check;
only the trust anchors differ. Anything that cannot be loaded is an error
naming where it came from, in plain words (a FIFO, a truncated PEM block, a
malformed certificate and where it is); there is no fallback to another
store.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import ssl
import stat
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Protocol, Tuple, TypeVar

from .errors import ShimError
from .settings import STORE_WORDS, Setting, expand

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


_C = TypeVar("_C")


@dataclass(frozen=True)
class Template:
    """How strict a verifying context is: everything but its trust anchors.

    ``of`` reads it from a context (pip's own, or the one pip's vendored
    urllib3 would build); ``new`` and ``apply`` give it to the shim's
    contexts, whose certificate check is always on, and whose host name is
    matched where pip's is: by OpenSSL, or after the handshake by urllib3 1.x
    (``check_hostname`` off, as in the context urllib3 1.x builds). Equal
    templates make equal contexts, so a template is part of a context's key.
    """

    #: where it was read, in words
    mode: str
    verify_flags: int
    hostname_checks_common_name: bool
    minimum_version: int
    maximum_version: int
    options: int
    #: the enabled TLS 1.2 and older cipher suites, with OpenSSL's security level
    ciphers: str
    post_handshake_auth: Optional[bool]
    #: whether OpenSSL matches the host name; where not, urllib3 1.x does it itself
    #: (and ``patch.HostContext`` with it), as for pip's own context
    check_hostname: bool = True

    @classmethod
    def of(cls, context: Any, mode: str) -> Template:
        """The strictness of ``context`` (an ``ssl.SSLContext`` or a truststore one)."""
        names = [cipher["name"] for cipher in context.get_ciphers()]
        level = getattr(context, "security_level", None)  # Python 3.10+
        ciphers = ":".join(([f"@SECLEVEL={level}"] if level is not None else []) + names)
        return cls(
            mode,
            int(context.verify_flags),
            bool(context.hostname_checks_common_name),
            int(context.minimum_version),
            int(context.maximum_version),
            int(context.options),
            ciphers,
            getattr(context, "post_handshake_auth", None),
            bool(context.check_hostname),
        )

    def new(self) -> ssl.SSLContext:
        """A fresh client context of this strictness, with no trust anchor yet."""
        return self.apply(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))

    def apply(self, context: _C) -> _C:
        """Make ``context`` (a fresh client context) this strict; verification on."""
        ctx: Any = context
        ctx.set_ciphers(self.ciphers)
        ctx.options = ssl.Options(self.options)
        ctx.minimum_version = ssl.TLSVersion(self.minimum_version)
        ctx.maximum_version = ssl.TLSVersion(self.maximum_version)
        ctx.verify_flags = ssl.VerifyFlags(self.verify_flags)
        ctx.hostname_checks_common_name = self.hostname_checks_common_name
        if self.post_handshake_auth is not None:
            ctx.post_handshake_auth = self.post_handshake_auth
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = self.check_hostname
        return context


_plain: List[Template] = []


def plain() -> Template:
    """The strictness of a bare ``SSLContext(PROTOCOL_TLS_CLIENT)``: pip's truststore
    context has it, and so verifies like pip's default mode on every release."""
    if not _plain:
        _plain.append(Template.of(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), "plain"))
    return _plain[0]


def store_context(store: Setting, template: Optional[Template] = None) -> ssl.SSLContext:
    """A verifying client context, as strict as ``template`` (default: ``plain()``),
    holding only the store ``store`` names."""
    template = template or plain()
    if store.value == "system":
        return system_context(store, template=template)
    context = template.new()
    if store.value == "certifi":
        load_bundle(context, certifi_bundle(store), store, store.value)
    else:
        path = expand(store.value)
        if file_kind(path) == "missing":
            raise store.error(
                "neither 'system', 'certifi' nor an existing file or directory"
                + did_you_mean(store.value)
            )
        load_bundle(context, path, store, store.value)
    return context


def did_you_mean(value: str) -> str:
    """``; did you mean 'system'?`` for a store word mistyped (``sytem``, ``Certifi``), or ""."""
    import difflib  # only on this error's road: pip's start-up never pays for it

    close = difflib.get_close_matches(value.strip().lower(), STORE_WORDS, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def certifi_bundle(store: Setting) -> str:
    """The installed certifi package's bundle (not pip's vendored copy)."""
    try:
        import certifi
    except ImportError:
        raise store.error(
            "the certifi package is not installed (PIP_TRUSTSHIM=0 pip install certifi)"
        ) from None
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
            "the system store needs truststore on Python >= 3.10 "
            "(PIP_TRUSTSHIM=0 pip install truststore)"
        ) from None


def system_context(
    store: Setting,
    platform: str = sys.platform,
    version: Tuple[int, int] = PYTHON,
    template: Optional[Template] = None,
) -> ssl.SSLContext:
    """The operating system's store, the way pip >= 24.2 reaches it, as strict as
    ``template`` (default: ``plain()``)."""
    template = template or plain()
    if platform.startswith("linux") or "bsd" in platform:
        if not linux_store_exists():
            raise store.error(
                "no system store found (OpenSSL's default paths and the usual "
                "bundle files hold no certificates; set SSL_CERT_FILE or use a bundle path)"
            )
    if version >= (3, 10):
        made = truststore_module(store).SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context: ssl.SSLContext = template.apply(made)
        return context
    context = template.new()
    if platform == "win32":
        der = windows_store_der(store, getattr(ssl, "enum_certificates", None))
        context.load_verify_locations(cadata=der)
    elif platform == "darwin":
        context.load_verify_locations(cadata=macos_store_pem(store, run_command))
    else:
        _load_openssl_defaults(context)
    return context


def linux_store_exists() -> bool:
    """Whether OpenSSL's defaults or a well-known bundle file hold certificates."""
    return bool(openssl_default_locations())


def openssl_default_locations() -> List[str]:
    """Where the system store is on Linux/BSD, as truststore looks for it.

    OpenSSL's default file and directory (``SSL_CERT_FILE``/``SSL_CERT_DIR``
    honoured) when either holds certificates, else the first usual bundle file.
    """
    defaults = ssl.get_default_verify_paths()
    found = [defaults.cafile] if defaults.cafile else []
    if defaults.capath and has_hashed_certs(defaults.capath):
        found.append(defaults.capath)
    return found or [path for path in LINUX_CA_FILES if os.path.isfile(path)][:1]


def _load_openssl_defaults(context: ssl.SSLContext) -> None:
    for path in openssl_default_locations():
        if os.path.isdir(path):
            context.load_verify_locations(capath=path)
        else:
            context.load_verify_locations(cafile=path)


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


def run_command(command: List[str]) -> str:
    """The output of a command (``security`` on macOS)."""
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def has_hashed_certs(directory: str) -> bool:
    """Whether a directory holds OpenSSL hashed names (``1a2b3c4d.0``)."""
    return bool(hashed_names(directory))


def hashed_names(directory: str) -> List[str]:
    """The OpenSSL hashed names (``1a2b3c4d.0``) in a directory, sorted."""
    try:
        return sorted(name for name in os.listdir(directory) if _HASHED_NAME.match(name))
    except OSError:
        return []


#: why a hashed name is never read: it is a FIFO, a socket or a device
SPECIAL = "not a regular file (a FIFO, socket or device): never read"


def hashed_files(directory: str) -> Tuple[List[str], List[Tuple[str, str]]]:
    """The hashed files of a directory that OpenSSL can read, and those it skips.

    OpenSSL looks a certificate up by its hashed name when a handshake needs
    it, and passes over a name it cannot open: a dangling symlink (a CA file
    deleted without ``update-ca-certificates``) or a file it may not read.
    So do pip, ``check``, ``status`` and ``export``. Returns the readable
    paths, and (path, why) for each skipped one. A FIFO, socket or device is
    skipped too (``SPECIAL``): it is never read, and a store that holds one
    is refused (``_load_directory``).
    """
    readable: List[str] = []
    skipped: List[Tuple[str, str]] = []
    for name in hashed_names(directory):
        path = os.path.join(directory, name)
        kind = file_kind(path)
        if kind == "missing":
            why = "a dangling symbolic link" if os.path.islink(path) else "gone"
            skipped.append((path, why))
        elif kind == "special":
            skipped.append((path, SPECIAL))
        elif kind == "file" and not os.access(path, os.R_OK):
            skipped.append((path, "cannot be read (permission denied)"))
        elif kind != "directory":
            readable.append(path)
    return readable, skipped


class Named(Protocol):
    """Whatever names a bundle in an error: a setting, or a bundle pip was given."""

    def error(self, problem: str) -> ShimError: ...


def load_bundle(context: ssl.SSLContext, path: str, named: Named, shown: str) -> None:
    """Add a PEM file or a hashed directory to ``context``, or say why not.

    ``shown`` is the value the error shows (a setting may list several paths,
    or hold ``~``): the error names ``path`` too when it differs. FIFOs,
    sockets and devices are refused before anything reads them: OpenSSL
    would wait on them forever.
    """
    where = f"{path!r}: " if shown != path else ""
    kind = file_kind(path)
    if kind == "missing":
        raise named.error(f"{where}no such file or directory")
    if kind == "special":
        raise named.error(
            f"{where}not a regular file (a FIFO, socket or device); name a PEM file "
            "or an OpenSSL hashed directory"
        )
    if kind == "directory":
        _load_directory(context, path, named)
        return
    try:
        context.load_verify_locations(cafile=path)
    except PermissionError:
        raise named.error(f"{where}permission denied") from None
    except ssl.SSLError:
        raise named.error(f"{where}{pem_problem(path)}") from None
    except (OSError, ValueError) as error:
        raise named.error(f"{where}{getattr(error, 'strerror', None) or error}") from None


def file_kind(path: str) -> str:
    """``file``, ``directory``, ``missing`` or ``special`` (FIFO, socket, device)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return "missing"
    if stat.S_ISDIR(mode):
        return "directory"
    return "file" if stat.S_ISREG(mode) else "special"


def _load_directory(context: ssl.SSLContext, path: str, named: Named) -> None:
    if not os.access(path, os.R_OK | os.X_OK):
        raise named.error(f"directory {path!r} cannot be read (permission denied)")
    hashed = hashed_names(path)
    if not hashed:
        raise named.error(
            f"directory {path!r} holds no OpenSSL-hashed certificates "
            "(run 'openssl rehash' on it, or name a PEM file)"
        )
    for found, why in hashed_files(path)[1]:
        if why == SPECIAL:
            raise named.error(f"{found!r} is not a regular file")
    context.load_verify_locations(capath=path)


def pem_problem(path: str) -> str:
    """What is wrong with a PEM file OpenSSL refused, in plain words."""
    try:
        with open(path, "rb") as handle:
            lines = handle.read().decode("latin-1").splitlines()
    except OSError as error:
        return str(error.strerror or error)
    begin, label, labels = 0, "", []
    for number, line in enumerate(lines, 1):
        marker = line.strip()
        if marker.startswith("-----BEGIN ") and marker.endswith("-----"):
            if begin:
                return f"the PEM block that begins on line {begin} has no END line"
            begin, label = number, marker[11:-5]
        elif marker.startswith("-----END ") and begin:
            labels.append(label)
            if label.endswith("CERTIFICATE"):
                problem = _block_problem(lines[begin : number - 1])
                if problem:
                    return f"the certificate on lines {begin}-{number} is malformed ({problem})"
            begin = 0
    if begin:
        return f"truncated: the PEM block that begins on line {begin} has no END line"
    if not any(found.endswith("CERTIFICATE") for found in labels):
        keys = " (it holds a private key)" if any("KEY" in found for found in labels) else ""
        return f"no PEM certificate in it{keys}"
    return "OpenSSL cannot load it, though no single certificate in it is malformed"


def _block_problem(body: List[str]) -> str:
    """Why one PEM certificate's base64 lines are refused; empty when they are fine."""
    text = "".join(line.strip() for line in body if ":" not in line)  # no RFC 1421 headers
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return "its base64 text is damaged"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=der)
    except (ssl.SSLError, ValueError) as error:
        return f"not a valid X.509 certificate: {getattr(error, 'reason', None) or error}"
    return ""
