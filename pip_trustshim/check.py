"""``pip-trustshim check``: would pip, with the shim, trust its index servers?

For each URL (default: the index-url and extra-index-urls pip would use;
``file://`` and ``http://`` ones are skipped) one TLS handshake with exactly
the trust the shim gives pip, then the chain the server sent, and which
other store (the system's, certifi, each configured bundle) would have
accepted it; when one would, the hint names the command that switches to
it. Works, and says so, while the shim is off.
"""

from __future__ import annotations

import os
import ssl
import stat
import urllib.parse
from dataclasses import dataclass
from typing import Callable, List, Optional, TextIO, Tuple

from . import exitcodes, hosts, pipconfig, probe
from .certs import describe
from .errors import ShimError
from .settings import STORE_WORDS, Bundle, Setting, Settings, expand
from .stores import Named, load_bundle, store_context
from .trust import Choice, PipView, as_pip_sees_it

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

#: failures an entry's bundle decides (the others are the server's or the network's)
ENTRY_REASONS = ("unknown issuer", "self-signed certificate", "self-signed certificate in chain")


@dataclass(frozen=True)
class Candidate:
    """One store on its own, as ``check`` tries it."""

    label: str
    make: Callable[[], ssl.SSLContext]
    #: the command that makes pip trust it, when the shim's trust does not hold it
    advice: str = ""


def run(urls: List[str], timeout: float, out: TextIO) -> int:
    """Check every URL; SUCCESS when all pass."""
    view = as_pip_sees_it()
    problem = view.problem()
    if problem is not None:
        raise problem
    targets = urls or [index.value for index in pipconfig.index_urls(view.config)]
    for url in targets:
        split_url(url)  # every URL is valid before the first connection
    out.write(header(view))
    out.write("".join(f"warning: {line}\n" for line in loose_permissions(view)))
    passed = [check_url(url, view, timeout, out) for url in targets]
    return exitcodes.SUCCESS if all(passed) else exitcodes.NOT_AS_ASKED


def split_url(url: str) -> Tuple[str, str, int]:
    """Scheme, host and port of a URL; a bad one is a usage error."""
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise ShimError(f"pip-trustshim: not a URL: {url!r} ({error})") from None
    if parts.scheme == "file":
        return "file", host or "", 0
    if parts.scheme not in ("https", "http") or not host:
        raise ShimError(f"pip-trustshim: not an https:// URL: {url!r}")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def header(view: PipView) -> str:
    """What is being checked with, and whether pip uses it now."""
    on = view.settings.is_on()
    state = "on" if on else "OFF (pip does not use it now; checking what it would trust)"
    lines = [f"pip-trustshim is {state}", f"  store: {view.settings.store.value}"]
    lines += [f"  extra CA: {path}" for path in view.settings.extra_ca_paths()]
    lines += [f"  pip's bundle: {bundle.path} ({bundle.source})" for bundle in view.bundles]
    for table in (view.trust.host_ca, view.trust.host_client_cert):
        lines += [f"  {table.setting.name}: {_entry(entry)}" for entry in table.entries]
    return "\n".join(lines) + "\n\n"


def _entry(entry: hosts.Entry) -> str:
    return f"{entry.shown()} ({entry.setting.source})"


def trusted_files(view: PipView) -> List[str]:
    """Every file that decides what pip trusts: bundles, CA paths, pip's config files."""
    settings = view.settings
    paths = [] if settings.store.value in STORE_WORDS else [expand(settings.store.value)]
    paths += settings.extra_ca_paths() + [bundle.path for bundle in view.bundles]
    for table in (view.trust.host_ca, view.trust.host_client_cert):
        paths += [entry.path for entry in table.entries]
    for entries in getattr(view.config, "_parsers", {}).values():
        paths += [filename for filename, _ in entries]
    return list(dict.fromkeys(path for path in paths if os.path.exists(path)))


def loose_permissions(view: PipView) -> List[str]:
    """A warning for each trust-deciding file that group or others may write."""
    if os.name != "posix":
        return []
    return [
        f"{path} is writable by group or others: whoever can write it decides what pip trusts"
        for path in trusted_files(view)
        if os.stat(path).st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ]


def check_url(url: str, view: PipView, timeout: float, out: TextIO) -> bool:
    """Check one URL and report on it; whether it passed."""
    scheme, host, port = split_url(url)
    if scheme != "https":
        why = "a local index" if scheme == "file" else "plain http"
        out.write(f"{url}\n  SKIP: {why}, no certificate to check\n\n")
        return True
    choice = view.trust.choose(host, port)
    context = view.trust.context(view.bundles, None, host, port)
    candidates = other_stores(view.settings, view.bundles, choice)
    proxy = probe.proxy_for(host, port)
    outcome = probe.handshake(host, port, context, timeout, proxy)
    lines = [url]
    lines += [f"  trusts only host-ca {_entry(entry)}" for entry in choice.cas]
    if choice.client is not None:
        lines.append(f"  presents host-client-cert {_entry(choice.client)}")
    if proxy is not None:
        lines.append(f"  through proxy {probe.shown(proxy)}")
    verdicts = verdicts_on(host, port, candidates, timeout, proxy) if outcome.verified_tls else []
    if outcome.ok:
        lines.append("  OK")
        chain = outcome.chain
    else:
        lines.append(f"  FAIL: {outcome.reason}")
        lines.append(f"  ({outcome.detail})")
        lines += [f"  hint: {hint}" for hint in hints(outcome.reason, verdicts, choice)]
        chain = probe.unverified_chain(host, port, timeout, proxy) if outcome.verified_tls else []
    lines += chain_lines(chain)
    if verdicts:
        lines.append("  would each store accept it on its own?")
        lines += [f"    {candidate.label}: {verdict}" for candidate, verdict in verdicts]
    out.write("\n".join(lines) + "\n\n")
    out.flush()
    return outcome.ok


def hints(reason: str, verdicts: List[Tuple[Candidate, str]], choice: Choice) -> List[str]:
    """What to do: switch to a store that would accept the server, else by reason.

    A host that a ``host-ca`` entry decides trusts nothing else: the advice is
    about the entry, never about the store or the extra CAs.
    """
    if choice.cas and reason in ENTRY_REASONS:
        written = "; ".join(entry.written for entry in choice.cas)
        return [
            f"this host trusts only its host-ca entry ({written}): put the CA that issued "
            "the server's certificate in that entry's bundle, or correct the entry"
        ]
    accepting = [candidate for candidate, verdict in verdicts if verdict == "yes"]
    switch = [c for c in accepting if c.advice]
    if switch:
        return [f"{switch[0].label} would accept it: {switch[0].advice}"]
    return [HINTS[reason]] if reason in HINTS else []


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


def other_stores(
    settings: Settings, bundles: Tuple[Bundle, ...], choice: Choice
) -> List[Candidate]:
    """The system store, certifi, each configured bundle, and the host's own entries.

    Switching the store is advice only for a host that no ``host-ca`` entry
    decides.
    """
    found: List[Candidate] = []
    for word in STORE_WORDS:
        advice = "" if settings.store.value == word else f"pip-trustshim enable --store {word}"
        advice = "" if choice.cas else advice
        label = "the system store" if word == "system" else word
        found.append(Candidate(label, _store(word), advice))
    if settings.store.value not in STORE_WORDS:
        path = expand(settings.store.value)
        found.append(_bundle(path, settings.store, settings.store.value, settings.store.key))
    for path in settings.extra_ca_paths():
        extra = settings.extra_ca
        found.append(_bundle(path, extra, extra.value, extra.key))
    for bundle in [*settings.inherited, *bundles]:
        found.append(_bundle(bundle.path, bundle, bundle.path, bundle.source))
    for entry in choice.cas:
        found.append(_bundle(entry.path, entry, entry.path, f"host-ca {entry.pattern.shown()}"))
    return found


def _store(word: str) -> Callable[[], ssl.SSLContext]:
    return lambda: store_context(Setting("store", word, "check"))


def _bundle(path: str, named: Named, shown: str, label: str) -> Candidate:
    def context() -> ssl.SSLContext:
        made = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        load_bundle(made, path, named, shown)
        return made

    return Candidate(f"{path} ({label})", context)


def verdicts_on(
    host: str, port: int, candidates: List[Candidate], timeout: float, proxy: Optional[str]
) -> List[Tuple[Candidate, str]]:
    """Whether each other store would have accepted this server: yes, no, or unusable."""
    verdicts = []
    for candidate in candidates:
        try:
            context = candidate.make()
        except ShimError as error:
            verdicts.append((candidate, f"unusable ({error})"))
            continue
        outcome = probe.handshake(host, port, context, timeout, proxy)
        verdicts.append((candidate, "yes" if outcome.ok else f"no, {outcome.reason}"))
    return verdicts
