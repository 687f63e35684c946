"""A throwaway PKI for the tests, made with ``trustme``.

One trusted "corp" CA, one CA nobody trusts, a separate CA for the proxies
that speak TLS themselves, and the server leaves every TLS test picks from
(:data:`LEAVES`: good, expired, wrong host, unknown issuer, self-signed...).
"""

from __future__ import annotations

import datetime
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict

import trustme

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
