"""Unit tests of the stores, in this process, against the real loopback TLS index.

The Windows and macOS ``system`` stores of Python 3.8/3.9 are tested here
with the OS calls FAKED (``ssl.enum_certificates``, the ``security``
command): no Windows or macOS machine is available to this project. What is
real: the certificates, the contexts built from them and the TLS handshakes.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from lib.pki import Pki
from lib.servers import TlsIndex
from pip_trustshim import patch, stores
from pip_trustshim.errors import ShimError
from pip_trustshim.settings import Setting, Settings
from pip_trustshim.trust import Trust

SYSTEM = Setting("store", "system", "test")
SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
CODE_SIGNING = "1.3.6.1.5.5.7.3.3"


def der(pem_path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem_path.read_text())


def handshake(context: ssl.SSLContext, index: TlsIndex) -> None:
    """A real TLS handshake with the index as ``localhost``; raises if refused."""
    with socket.create_connection(("127.0.0.1", index.port), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname="localhost"):
            pass


def subjects(context: ssl.SSLContext) -> List[str]:
    """The organisation names of the CAs a context holds."""
    names: List[str] = []
    for cert in context.get_ca_certs():
        fields: Any = cert["subject"]
        names.append(dict(rdn[0] for rdn in fields).get("organizationName", ""))
    return sorted(names)


# -------------------------------------------------- Windows, OS call faked


def test_windows_system_store_faked(
    pki: Pki, index: TlsIndex, other_index: TlsIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[str] = []

    def enum_certificates(store_name: str) -> List[Tuple[bytes, str, Any]]:
        calls.append(store_name)
        if store_name == "ROOT":
            return [(der(pki.ca_pem), "x509_asn", True), (b"\x30\x00", "pkcs_7_asn", True)]
        return [(der(pki.other_ca_pem), "x509_asn", {CODE_SIGNING})]

    monkeypatch.setattr(ssl, "enum_certificates", enum_certificates, raising=False)
    context = stores.system_context(SYSTEM, platform="win32", version=(3, 9))
    assert calls == ["ROOT", "CA"]
    assert subjects(context) == ["trustshim corp CA"]  # code-signing-only CA left out
    handshake(context, index)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context, other_index)


def test_windows_store_trusted_for_server_auth_faked(pki: Pki) -> None:
    def enum_certificates(store_name: str) -> List[Tuple[bytes, str, Any]]:
        return [(der(pki.other_ca_pem), "x509_asn", {SERVER_AUTH, CODE_SIGNING})]

    assert stores.windows_store_der(SYSTEM, enum_certificates) == 2 * der(pki.other_ca_pem)


def test_windows_store_empty_is_an_error_faked() -> None:
    with pytest.raises(ShimError, match="Windows ROOT and CA stores hold no certificate"):
        stores.windows_store_der(SYSTEM, lambda name: [])
    with pytest.raises(ShimError, match="cannot read the Windows certificate stores"):
        stores.windows_store_der(SYSTEM, None)


# --------------------------------------------------- macOS, OS call faked


def test_macos_system_store_faked(
    pki: Pki, index: TlsIndex, other_index: TlsIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: List[List[str]] = []

    def run(command: List[str]) -> str:
        commands.append(command)
        return pki.ca_pem.read_text()

    monkeypatch.setattr(stores, "run_command", run)
    context = stores.system_context(SYSTEM, platform="darwin", version=(3, 8))
    assert commands == [
        ["/usr/bin/security", "find-certificate", "-a", "-p", *stores.MACOS_KEYCHAINS]
    ]
    assert subjects(context) == ["trustshim corp CA"]
    handshake(context, index)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context, other_index)


def test_macos_store_failures_faked() -> None:
    def broken(command: List[str]) -> str:
        raise subprocess.CalledProcessError(1, command)

    with pytest.raises(ShimError, match="cannot export the system keychains"):
        stores.macos_store_pem(SYSTEM, broken)
    with pytest.raises(ShimError, match="hold no certificates"):
        stores.macos_store_pem(SYSTEM, lambda command: "")


# ------------------------------------------------------------------ Linux


def test_linux_without_any_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = ssl.DefaultVerifyPaths(None, None, "", "", "", "")  # type: ignore[arg-type,call-arg]
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: empty)
    monkeypatch.setattr(stores, "LINUX_CA_FILES", (str(tmp_path / "none.pem"),))
    for version in ((3, 9), (3, 11)):
        with pytest.raises(ShimError) as caught:
            stores.system_context(SYSTEM, platform="linux", version=version)
        assert str(caught.value).startswith("pip-trustshim: trustshim.store = 'system'")
        assert "no system store found" in str(caught.value)


def test_linux_openssl_defaults_on_old_pythons(
    pki: Pki, index: TlsIndex, other_index: TlsIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem))
    monkeypatch.setenv("SSL_CERT_DIR", str(pki.dir / "no-such-dir"))
    context = stores.system_context(SYSTEM, platform="linux", version=(3, 9))
    handshake(context, index)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context, other_index)


# ---------------------------------------------------------- every context


def test_contexts_always_verify(pki: Pki) -> None:
    for value in ("certifi", str(pki.ca_pem)):
        settings = Settings(
            Setting("enabled", "1", "test"),
            Setting("store", value, "test"),
            Setting("extra-ca", str(pki.other_ca_pem), "test"),
            False,
        )
        context = Trust(settings).context()
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname is True


def test_extra_ca_paths_split_and_expand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORP", "/corp")
    monkeypatch.setenv("HOME", "/home/me")
    extra = Setting("extra-ca", "$CORP/a.pem:~/b.pem\n\n  /c dir/d.pem  \n", "test")
    settings = Settings(Setting("enabled", "1", "t"), SYSTEM, extra, False)
    assert settings.extra_ca_paths() == ["/corp/a.pem", "/home/me/b.pem", "/c dir/d.pem"]


# ------------------------------------------------------- how strict (templates)


def strict_context() -> ssl.SSLContext:
    """A context unlike a bare one in every setting a template copies."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.set_ciphers("ECDHE+AESGCM:@SECLEVEL=1")
    context.options |= ssl.OP_NO_TICKET
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    context.hostname_checks_common_name = False
    context.check_hostname = False  # the host name left to urllib3 1.x, as its contexts do
    return context


def test_a_template_gives_every_setting_but_the_anchors(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = stores.Template.of(strict_context(), "test")
    assert template != stores.plain()
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem))
    made = [
        template.new(),
        stores.store_context(Setting("store", str(pki.ca_pem), "test"), template),
        stores.system_context(SYSTEM, platform="linux", version=(3, 9), template=template),
        stores.system_context(SYSTEM, platform="linux", version=stores.PYTHON, template=template),
    ]
    for context in made:
        assert stores.Template.of(context, "test") == template
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is False
    if stores.PYTHON >= (3, 10):  # the system store is truststore's own context
        assert type(made[-1]).__module__.startswith("truststore")
    assert stores.Template.of(stores.plain().new(), "plain") == stores.plain()


def test_a_template_is_part_of_a_contexts_key(pki: Pki) -> None:
    settings = Settings(
        Setting("enabled", "1", "test"),
        Setting("store", str(pki.ca_pem), "test"),
        Setting("extra-ca", "", "test"),
        False,
    )
    trust = Trust(settings)
    strict = stores.Template.of(strict_context(), "test")
    assert trust.context() is trust.context(template=stores.plain())
    assert trust.context(template=strict) is trust.context(template=strict)
    assert trust.context(template=strict) is not trust.context()
    assert stores.Template.of(trust.context(template=strict), "test") == strict


def test_a_name_left_to_urllib3_is_matched_after_every_handshake(pki: Pki, dists: Path) -> None:
    """A context as strict as urllib3 1.x's own leaves the host name to urllib3, which
    urllib3 skips for a ``proxy_ssl_context``: ``patch.for_host`` makes urllib3's own
    check after every handshake, so no connection goes unchecked."""
    template = stores.Template.of(strict_context(), "test")
    context = template.new()
    context.load_verify_locations(str(pki.ca_pem))
    with TlsIndex(pki, dists) as index:
        handshake(context, index)  # the bare context checks no name
        with pytest.raises(ValueError, match="match"):  # urllib3's CertificateError
            handshake(patch.for_host(context, "elsewhere.test"), index)
        handshake(patch.for_host(context, "localhost"), index)
    assert patch.for_host(context, "localhost") is patch.for_host(context, "localhost")
    checking = stores.plain().new()
    assert patch.for_host(checking, "localhost") is checking  # OpenSSL checks it
