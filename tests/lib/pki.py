"""A throwaway PKI for the tests, made with ``trustme`` and ``cryptography``.

One trusted "corp" CA, one CA nobody trusts, a separate CA for the proxies
that speak TLS themselves, and the server leaves every TLS test picks from
(:data:`LEAVES`: good, expired, wrong host, unknown issuer, self-signed...).

:class:`Kinds` makes, with ``cryptography`` directly, the certificates that
differ in one detail a verifier may or may not care about (:data:`KINDS`:
no SAN, no Authority Key Identifier, a CA without keyUsage...), for the
differential test against pip itself.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Union

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


@dataclass
class Pki:
    """A throwaway PKI: a trusted "corp" CA, an untrusted CA and server leaves."""

    dir: Path
    ca: trustme.CA
    other_ca: trustme.CA
    ca_pem: Path
    other_ca_pem: Path
    leaves: Dict[str, trustme.LeafCert] = field(default_factory=dict, repr=False)
    _client_pems: Dict[str, Path] = field(default_factory=dict, repr=False)
    #: the CA of the test proxies that speak TLS themselves (its own, separate CA)
    proxy_ca: trustme.CA = field(default_factory=lambda: trustme.CA(organization_name="proxy CA"))
    #: the CA a TLS-bumping proxy forges its leaves with (sent in the chain, as squid does)
    bump_ca: trustme.CA = field(
        default_factory=lambda: trustme.CA(organization_name="trustshim bumping proxy CA")
    )

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
    def bump_ca_pem(self) -> Path:
        """The bumping proxy's CA certificate, written once."""
        path = self.dir / "bump-ca.pem"
        if not path.exists():
            self.bump_ca.cert_pem.write_to_path(str(path))
        return path

    def bump_context(self) -> ssl.SSLContext:
        """Server-side context of a bumping proxy: a leaf for localhost forged with
        ``bump_ca``, the root sent after it."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf = self.bump_ca.issue_cert("localhost", "127.0.0.1", "::1")
        chain = self.dir / "bump-chain.pem"
        key = self.dir / "bump-key.pem"
        chain.write_bytes(leaf.cert_chain_pems[0].bytes() + self.bump_ca.cert_pem.bytes())
        leaf.private_key_pem.write_to_path(str(key))
        ctx.load_cert_chain(str(chain), str(key))
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

    def client_cert_pem(self, name: str = "trustshim test client") -> Path:
        """Write (once per ``name``) and return a PEM with a client key and certificate
        chain issued by ``ca``, whose common name is ``name``."""
        if name not in self._client_pems:
            cert = self.ca.issue_cert("trustshim-client.example", common_name=name)
            path = self.dir / f"client-{len(self._client_pems)}.pem"
            cert.private_key_and_cert_chain_pem.write_to_path(str(path))
            self._client_pems[name] = path
        return self._client_pems[name]

    def named_context(self, ca: trustme.CA, *names: str) -> ssl.SSLContext:
        """Server-side context with a new leaf for ``names``, issued by ``ca``."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*names).configure_cert(ctx)
        return ctx


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


def dated_ca_pem(path: Path, name: str, days_from_now: int, days_valid: int) -> Path:
    """Write a self-signed CA called ``name`` whose validity starts ``days_from_now``
    days from now (negative: in the past) and lasts ``days_valid`` days."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days_from_now)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days_valid))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


# ------------------------------------------------ certificate kinds (cryptography)

#: server certificates that differ from "good" in one detail each
KINDS = (
    "good",
    "cn-only",  # the name only in the subject's common name: no subjectAltName
    "no-aki",  # no Authority Key Identifier
    "expired",
    "not-yet-valid",
    "wrong-eku",  # extended key usage clientAuth only
    "weak-key",  # RSA 1024
    "ca-no-basic-constraints",  # a leaf as "good", from a CA without basicConstraints
    "ca-no-key-usage",  # a leaf as "good", from a CA without keyUsage
)
#: the kinds whose defect is in the issuing CA, and the CA variant each needs
CA_KINDS = {"ca-no-basic-constraints": "no-bc", "ca-no-key-usage": "no-ku"}

_Key = Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey]


@dataclass
class _Ca:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "trustshim oracle"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class Kinds:
    """CAs, each in three variants (well-formed, without basicConstraints, without
    keyUsage), and server leaves of every kind in :data:`KINDS` issued by them.

    ``source`` names a CA family ("store", "entry", "nobody"...): each family
    is its own trust anchor, so a test decides what trusts what by putting
    families' :meth:`bundle` files where it wants them.
    """

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self._cas: Dict[str, _Ca] = {}
        self._count = 0

    def _ca(self, source: str, variant: str) -> _Ca:
        label = f"{source} {variant}"
        if label not in self._cas:
            key = ec.generate_private_key(ec.SECP256R1())
            builder = (
                x509.CertificateBuilder()
                .subject_name(_name(f"oracle CA {label}"))
                .issuer_name(_name(f"oracle CA {label}"))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(self.now - datetime.timedelta(days=1))
                .not_valid_after(self.now + datetime.timedelta(days=3650))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            )
            if variant != "no-bc":
                builder = builder.add_extension(x509.BasicConstraints(True, None), critical=True)
            if variant != "no-ku":
                usage = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
                builder = builder.add_extension(usage, critical=True)
            self._cas[label] = _Ca(key, builder.sign(key, hashes.SHA256()))
        return self._cas[label]

    def bundle(self, *sources: str) -> Path:
        """One PEM file with every variant of each source's CA."""
        path = self.dir / ("bundle-" + "+".join(sources) + ".pem")
        if not path.exists():
            variants = ("good", *CA_KINDS.values())
            path.write_bytes(b"".join(_pem(self._ca(s, v).cert) for s in sources for v in variants))
        return path

    def leaf(self, kind: str, source: str, names: Sequence[str]) -> Path:
        """A PEM file with a server key and its certificate of ``kind`` for ``names``
        (host names or IP addresses), issued by ``source``'s CA."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
        ca = self._ca(source, CA_KINDS.get(kind, "good"))
        key: _Key = (
            rsa.generate_private_key(65537, 1024)
            if kind == "weak-key"
            else ec.generate_private_key(ec.SECP256R1())
        )
        start, end = self.now - datetime.timedelta(days=1), self.now + datetime.timedelta(days=30)
        if kind == "expired":
            start, end = (
                self.now - datetime.timedelta(days=60),
                self.now - datetime.timedelta(days=1),
            )
        if kind == "not-yet-valid":
            start, end = (
                self.now + datetime.timedelta(days=2),
                self.now + datetime.timedelta(days=60),
            )
        usage = (
            ExtendedKeyUsageOID.CLIENT_AUTH
            if kind == "wrong-eku"
            else ExtendedKeyUsageOID.SERVER_AUTH
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(ca.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(False, None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if kind != "cn-only":
            builder = builder.add_extension(x509.SubjectAlternativeName(_alt_names(names)), False)
        if kind != "no-aki":
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
            builder = builder.add_extension(aki, critical=False)
        cert = builder.sign(ca.key, hashes.SHA256())
        self._count += 1
        path = self.dir / f"leaf-{self._count}-{kind}.pem"
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(private + _pem(cert))
        return path

    def server_context(self, kind: str, source: str, names: Sequence[str]) -> ssl.SSLContext:
        """Server-side context presenting a new leaf (see :meth:`leaf`)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # so the server may hold a weak key at all
        ctx.load_cert_chain(str(self.leaf(kind, source, names)))
        return ctx


def _alt_names(names: Sequence[str]) -> List[x509.GeneralName]:
    found: List[x509.GeneralName] = []
    for name in names:
        try:
            found.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            found.append(x509.DNSName(name))
    return found
