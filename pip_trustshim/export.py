"""``pip-trustshim export``: the trust pip gets, as one PEM bundle for other tools.

What the shim trusts for a host with no ``host-ca`` entry (the store, the
extra CAs, and the CA bundles pip was given), each certificate once
(identified by the SHA-256 of its DER form), in the order they are found,
each after a comment naming its subject and fingerprint, under a header
saying what it was built from and when. ``system`` exports what the
operating system's store holds: on Linux and the BSDs the certificates in
OpenSSL's default file and directory (the same place truststore and the
3.8/3.9 store code read), on Windows and macOS the same export as the
3.8/3.9 store code. A hashed directory's names that OpenSSL passes over (a
dangling symlink, an unreadable file) are passed over here too, and named
under ``-v`` (``stores.hashed_files``). With ``-o`` the file is written
atomically, mode 0644; a symlink is written through, as ``enable`` does
(``atomic.through_link``).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import os
import ssl
import sys
from typing import Iterator, List, Sequence, TextIO, Tuple

from . import exitcodes, stores
from .atomic import WriteError, through_link, write_atomically
from .certs import describe
from .errors import ShimError, escape
from .settings import Setting, expand
from .trust import PipView, as_pip_sees_it

#: files a hashed directory holds that OpenSSL passes over: (path, why)
Skipped = List[Tuple[str, str]]


def run(output: str, out: TextIO, err: TextIO, verbose: bool = False) -> int:
    """Export the bundle to ``output`` (a path, or ``-`` for ``out``); ``verbose``
    tells on ``err`` what each part gave and which files were passed over."""
    view = as_pip_sees_it()
    problem = view.problem()
    if problem is not None:
        raise problem
    if not view.settings.is_on():
        err.write("pip-trustshim is off: exporting what pip would trust once it is switched on\n")
    sources = list(parts(view))
    found: List[bytes] = []
    for label, where in sources:
        skipped: Skipped = []
        ders = certificates_in(where, skipped)
        found += ders
        if verbose:
            shown = label if where == "system" else f"{label}: {where}"
            err.write(escape(f"{shown}: {_count(len(ders))}") + "\n")
            for path, why in skipped:
                also = "" if why == stores.SPECIAL else " (OpenSSL skips it too)"
                err.write(escape(f"  skipped {path}: {why}{also}") + "\n")
    certificates = unique(iter(found))
    text = render(sources, certificates)
    if output == "-":
        out.write(text)
        return exitcodes.SUCCESS
    target, link = through_link(output)
    try:
        write_atomically(target, text.encode("ascii"), mode=0o644)
    except WriteError as error:
        raise ShimError(escape(f"pip-trustshim: nothing written: {error}")) from None
    if link is not None:
        err.write(escape(f"{link} is a symbolic link: wrote its target, {target}") + "\n")
    err.write(escape(f"wrote {_count(len(certificates))} to {target}") + "\n")
    return exitcodes.SUCCESS


def _count(count: int) -> str:
    return f"{count} certificate{'' if count == 1 else 's'}"


def parts(view: PipView) -> Iterator[Tuple[str, str]]:
    """(what it is, where it is) for the store, each extra CA and each pip bundle."""
    store = view.settings.store
    if store.value == "system":
        where = ", ".join(stores.openssl_default_locations()) if _openssl_platform() else ""
        yield f"the system store{f' ({where})' if where else ''}", "system"
    elif store.value == "certifi":
        yield "certifi", stores.certifi_bundle(store)
    else:
        yield f"trustshim.store ({store.source})", expand(store.value)
    for path in view.settings.extra_ca_paths():
        yield f"trustshim.extra-ca ({view.settings.extra_ca.source})", path
    for bundle in (*view.settings.inherited, *view.bundles):
        yield f"pip's CA bundle ({bundle.source})", bundle.path


def certificates_in(where: str, skipped: Skipped) -> List[bytes]:
    """The DER certificates of one part: a PEM file, a hashed directory, or the
    system; a hashed directory's files that OpenSSL passes over go to ``skipped``."""
    if where == "system":
        return system_certificates(skipped)
    if os.path.isdir(where):
        readable, passed_over = stores.hashed_files(where)
        skipped += passed_over
        return [der for path in readable for der in pem_file(path)]
    return pem_file(where)


def _openssl_platform() -> bool:
    return sys.platform not in ("win32", "darwin")


def system_certificates(skipped: Skipped) -> List[bytes]:
    """What the operating system's store holds, as the store code reads it."""
    setting = Setting("store", "system", "export")
    if sys.platform == "win32":
        return split_der(stores.windows_store_der(setting, getattr(ssl, "enum_certificates", None)))
    if sys.platform == "darwin":
        return pem_text(stores.macos_store_pem(setting, stores.run_command))
    found: List[bytes] = []
    for path in stores.openssl_default_locations():
        found += certificates_in(path, skipped)
    if not found:
        raise setting.error("no system store found (OpenSSL's default paths hold no certificate)")
    return found


def pem_file(path: str) -> List[bytes]:
    """The certificates of one PEM file."""
    with open(path, "rb") as handle:
        return pem_text(handle.read().decode("latin-1"))


def pem_text(text: str) -> List[bytes]:
    """The DER form of every ``CERTIFICATE`` block in PEM text."""
    found: List[bytes] = []
    body: List[str] = []
    inside = False
    for line in text.splitlines():
        marker = line.strip()
        if marker == "-----BEGIN CERTIFICATE-----":
            inside, body = True, []
        elif marker == "-----END CERTIFICATE-----" and inside:
            inside = False
            try:
                found.append(base64.b64decode("".join(body), validate=True))
            except (binascii.Error, ValueError):
                continue  # the trust code refuses such a file before anything is exported
        elif inside:
            body.append(marker)
    return found


def split_der(blob: bytes) -> List[bytes]:
    """Concatenated DER certificates, one by one (each a SEQUENCE with its length)."""
    found = []
    while blob:
        size = _der_length(blob)
        found.append(blob[:size])
        blob = blob[size:]
    return found


def _der_length(blob: bytes) -> int:
    first = blob[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(blob[2 : 2 + count], "big")


def unique(ders: Iterator[bytes]) -> List[bytes]:
    """Each certificate once (by SHA-256 of its DER form), first seen first."""
    seen = set()
    found = []
    for der in ders:
        digest = hashlib.sha256(der).digest()
        if digest not in seen:
            seen.add(digest)
            found.append(der)
    return found


def render(sources: Sequence[Tuple[str, str]], certificates: Sequence[bytes]) -> str:
    """The bundle: a header, then each certificate after its comment line."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        "# pip-trustshim export: what pip trusts for a host with no host-ca entry",
        f"# {_count(len(certificates))}, built {now} from:",
    ]
    lines += [
        f"#   {label}" if where == "system" else f"#   {label}: {where}" for label, where in sources
    ]
    lines = [_ascii(line) for line in lines]
    for der in certificates:
        info = describe(der)
        subject = _ascii(info.subject)
        lines += ["", f"# {subject}  sha256 {info.sha256}"]
        lines += ssl.DER_cert_to_PEM_cert(der).strip().splitlines()
    return "\n".join(lines) + "\n"


def _ascii(text: str) -> str:
    """One comment line's text: escaped (``errors.escape``), then ASCII only."""
    return escape(text).encode("ascii", "backslashreplace").decode("ascii")
