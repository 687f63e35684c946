"""``pip-trustshim check``: would pip, with the shim, trust its index servers?

For each URL (default: the index-url and extra-index-urls pip would use) one
TLS handshake with exactly the trust the shim gives pip, then the chain the
server sent, and which other store (the system's, certifi, each configured
bundle) would have accepted it. Works, and says so, while the shim is off.
"""

from __future__ import annotations

import os
import ssl
import stat
import urllib.parse
from typing import Any, Callable, List, Optional, TextIO, Tuple

from . import pipconfig, probe
from . import settings as settings_module
from .certs import describe
from .errors import ShimError
from .settings import STORE_WORDS, Bundle, Setting, Settings, expand
from .stores import Named, load_bundle, store_context
from .trust import Trust

HINTS = {
    "unknown issuer": "no trusted CA issued this certificate; behind a TLS-intercepting proxy, "
    "add its CA: pip-trustshim enable --extra-ca /path/to/proxy-ca.pem",
    "self-signed certificate": "the server presents a certificate it signed itself; "
    "trust it only if you know it: pip-trustshim enable --extra-ca /path/to/that-cert.pem",
    "self-signed certificate in chain": "the chain ends in a root CA that is not trusted "
    "(typical of a TLS-intercepting proxy); add that root with --extra-ca",
    "expired": "the server's certificate has expired; the server's owner must renew it "
    "(or this machine's clock is wrong)",
    "not yet valid": "the certificate's validity starts in the future; "
    "check this machine's clock and time zone",
    "hostname mismatch": "the certificate is for another name; use the host name the "
    "certificate names, or ask the server's owner",
    "connection refused": "nothing listens there; check the URL's host and port",
    "timeout": "no answer in time; check the URL, the network, the proxy, or raise --timeout",
    "proxy refused": "check HTTPS_PROXY/https_proxy and NO_PROXY",
}

Candidate = Tuple[str, Callable[[], ssl.SSLContext]]


def run(urls: List[str], timeout: float, out: TextIO) -> int:
    """Check every URL; 0 when all pass, 1 otherwise."""
    settings = settings_module.read(isolated=False)
    on = settings.is_on()
    config = settings_module.load_pip_configuration(False)
    bundles = pipconfig.pip_bundles(config)
    settings_module.check_config_file()
    context = Trust(settings).context(bundles)
    targets = urls or [index.value for index in pipconfig.index_urls(config)]
    for url in targets:
        split_url(url)  # every URL is valid before the first connection
    out.write(header(on, settings, bundles))
    out.write(
        "".join(f"warning: {line}\n" for line in loose_permissions(settings, bundles, config))
    )
    candidates = other_stores(settings, bundles)
    passed = [check_url(url, context, candidates, timeout, out) for url in targets]
    return 0 if all(passed) else 1


def split_url(url: str) -> Tuple[str, str, int]:
    """Scheme, host and port of a URL; a bad one is a usage error."""
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise ShimError(f"pip-trustshim: not a URL: {url!r} ({error})") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ShimError(f"pip-trustshim: not an https:// URL: {url!r}")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def header(on: bool, settings: Settings, bundles: Tuple[Bundle, ...]) -> str:
    """What is being checked with, and whether pip uses it now."""
    state = "on" if on else "OFF (pip does not use it now; checking what it would trust)"
    lines = [f"pip-trustshim is {state}", f"  store: {settings.store.value}"]
    lines += [f"  extra CA: {path}" for path in settings.extra_ca_paths()]
    lines += [f"  pip's bundle: {bundle.path} ({bundle.source})" for bundle in bundles]
    return "\n".join(lines) + "\n\n"


def trusted_files(settings: Settings, bundles: Tuple[Bundle, ...], config: Any) -> List[str]:
    """Every file that decides what pip trusts: bundles, CA paths, pip's config files."""
    paths = [] if settings.store.value in STORE_WORDS else [expand(settings.store.value)]
    paths += settings.extra_ca_paths() + [bundle.path for bundle in bundles]
    for entries in getattr(config, "_parsers", {}).values():
        paths += [filename for filename, _ in entries]
    return list(dict.fromkeys(path for path in paths if os.path.exists(path)))


def loose_permissions(settings: Settings, bundles: Tuple[Bundle, ...], config: Any) -> List[str]:
    """A warning for each trust-deciding file that group or others may write."""
    if os.name != "posix":
        return []
    return [
        f"{path} is writable by group or others: whoever can write it decides what pip trusts"
        for path in trusted_files(settings, bundles, config)
        if os.stat(path).st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ]


def check_url(
    url: str, context: ssl.SSLContext, candidates: List[Candidate], timeout: float, out: TextIO
) -> bool:
    """Check one URL and report on it; whether it passed."""
    scheme, host, port = split_url(url)
    if scheme == "http":
        out.write(f"{url}\n  SKIP: plain http, no certificate to check\n\n")
        return True
    proxy = probe.proxy_for(host, port)
    outcome = probe.handshake(host, port, context, timeout, proxy)
    lines = [url]
    if proxy is not None:
        lines.append(f"  through proxy {shown_proxy(proxy)}")
    if outcome.ok:
        lines.append("  OK")
        chain = outcome.chain
    else:
        lines.append(f"  FAIL: {outcome.reason}")
        lines.append(f"  ({outcome.detail})")
        if outcome.reason in HINTS:
            lines.append(f"  hint: {HINTS[outcome.reason]}")
        chain = probe.unverified_chain(host, port, timeout, proxy) if outcome.verified_tls else []
    lines += chain_lines(chain)
    if outcome.verified_tls:
        lines += verdict_lines(host, port, candidates, timeout, proxy)
    out.write("\n".join(lines) + "\n\n")
    out.flush()
    return outcome.ok


def shown_proxy(proxy: str) -> str:
    """A proxy URL without its credentials."""
    parts = urllib.parse.urlsplit(proxy)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 80}"


def chain_lines(chain: List[bytes]) -> List[str]:
    """The certificates the server sent, leaf first."""
    if not chain:
        return []
    lines = ["  certificates the server sent:"]
    for number, der in enumerate(chain):
        info = describe(der)
        lines += [
            f"    [{number}] subject: {info.subject}",
            f"        issuer:  {info.issuer}",
            f"        valid:   {info.not_before} to {info.not_after}",
            f"        sha256:  {info.sha256}",
        ]
    return lines


def other_stores(settings: Settings, bundles: Tuple[Bundle, ...]) -> List[Candidate]:
    """The system store, certifi, and each configured bundle, one context each."""
    found: List[Candidate] = [
        ("the system store", lambda: store_context(Setting("store", "system", "check"))),
        ("certifi", lambda: store_context(Setting("store", "certifi", "check"))),
    ]
    if settings.store.value not in settings_module.STORE_WORDS:
        path = settings_module.expand(settings.store.value)
        found.append(_bundle(path, settings.store, settings.store.value, settings.store.key))
    for path in settings.extra_ca_paths():
        found.append(
            _bundle(path, settings.extra_ca, settings.extra_ca.value, settings.extra_ca.key)
        )
    for bundle in [*settings.inherited, *bundles]:
        found.append(_bundle(bundle.path, bundle, bundle.path, bundle.source))
    return found


def _bundle(path: str, named: Named, shown: str, label: str) -> Candidate:
    def context() -> ssl.SSLContext:
        made = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        load_bundle(made, path, named, shown)
        return made

    return f"{path} ({label})", context


def verdict_lines(
    host: str, port: int, candidates: List[Candidate], timeout: float, proxy: Optional[str]
) -> List[str]:
    """Whether each other store would have accepted this server."""
    lines = ["  would each store accept it on its own?"]
    for label, make in candidates:
        try:
            context = make()
        except ShimError as error:
            lines.append(f"    {label}: unusable ({error})")
            continue
        outcome = probe.handshake(host, port, context, timeout, proxy)
        lines.append(f"    {label}: " + ("yes" if outcome.ok else f"no, {outcome.reason}"))
    return lines
