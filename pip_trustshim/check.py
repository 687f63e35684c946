"""``pip-trustshim check``: would ``pip download`` work with the shim's trust?

For each index pip would read (its index-url, extra-index-urls and
find-links, or the URLs given), the request pip would make, made with pip's
own session (``pipsession``): the shim's trust for every host, even while
the shim is off; pip's proxies and client certificates; no retries. First
the page of ``--package`` (default ``pip``), then the newest file that page
lists (``links``), on whatever host it lives: where pip goes next. An answer
pip could not use (a 4xx, a proxy's 5xx, a page that is not an index page)
is a FAIL with a hint. A certificate that was refused gets the diagnosis
(``probe``): the chain, which other store would have accepted it, a caution
to compare the root's fingerprint with IT, and ``--save-root`` writes that
root. ``checkreport`` shows it all, as text or ``--json``.
"""

from __future__ import annotations

import json
import os
import ssl
import stat
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

from . import certs, exitcodes, hosts, links, pipsession, probe, status
from .atomic import WriteError, write_atomically
from .checkreport import Report, Result, Verdict, bare, redacted, render, to_json
from .errors import ShimError
from .settings import STORE_WORDS, Bundle, Setting, Settings, expand
from .stores import Named, load_bundle, store_context
from .trust import Choice, PipView, as_pip_sees_it

#: the project whose page and newest file ``check`` reads when none is given
DEFAULT_PACKAGE = "pip"
#: the most of a page ``check`` reads (a project page of PyPI's is well below)
PAGE_LIMIT = 16 * 1024 * 1024
#: the headers of an answer that say who answered
SHOWN_HEADERS = ("Server", "Via", "X-Squid-Error")

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
    "unknown host": "this name cannot be resolved: check its spelling, this machine's DNS and "
    "VPN; behind a proxy that resolves names for you, set pip's proxy (proxy = in pip.conf, "
    "PIP_PROXY) or HTTPS_PROXY",
    "proxy refused": "check pip's proxy (--proxy, PIP_PROXY, proxy = in pip.conf), "
    "HTTPS_PROXY/https_proxy and NO_PROXY",
    "client certificate required": "the server asks for a client certificate and none was "
    "sent: pip-trustshim enable --host-client-cert HOST=/path/to/cert-and-key.pem "
    "(or pip's client-cert = in pip.conf, PIP_CLIENT_CERT)",
    "client certificate refused": "the server refused the client certificate sent: it must "
    "be issued by a CA the server accepts, hold its key, and be valid now",
    "bad request": "the server (or a proxy in front of it) refused the request as it came: "
    "most often a client certificate it wants and did not get (see pip-trustshim status "
    "for the host-client-cert entries), or a proxy that changes the request",
    "credentials required": "the index wants a user name and password: put them in the "
    "index URL (https://USER:PASSWORD@host/simple/), in ~/.netrc, or in keyring",
    "forbidden": "the server refused access: wrong or missing credentials, a client "
    "certificate it does not accept, or an address it does not allow; when a proxy "
    "answered (see Server/Via), its policy blocks the request",
    "proxy credentials required": "the proxy wants a user name and password: put them in "
    "the proxy URL (http://USER:PASSWORD@proxy:PORT)",
    "a proxy answered": "the proxy could not get the page from the index: check the index "
    "URL's host name, and whether the proxy may reach it (ask its administrator)",
    "server error": "the server (or a proxy or gateway in front of it) failed; try again "
    "later, or ask the index's administrator",
    "not an index page": "pip skips a page of this type; the URL is not a simple index "
    "(or a proxy or portal answered in its place)",
    "insecure index": "pip reads http:// only from localhost and --trusted-host hosts: use "
    "the https:// URL, or add the host to pip's trusted-host",
    "not found": "check the URL",
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


def run(
    urls: List[str],
    package: Optional[str],
    timeout: float,
    verbose: bool,
    as_json: bool,
    save_root: Optional[str],
    out: TextIO,
) -> int:
    """Check every index; SUCCESS when pip download would get through to all of them."""
    view = as_pip_sees_it()
    problem = view.problem()
    if problem is not None:
        raise problem
    for url in urls:
        split_url(url)  # every URL is valid before the first connection
    pip = pipsession.start(view.trust, timeout)
    targets = [("index", url) for url in urls] or pip.indexes()
    if not targets:
        raise ShimError("pip-trustshim: nothing to check: pip reads no index (no-index is set)")
    for _, url in targets:
        split_url(url)
    checker = Checker(view, pip, package, timeout, verbose)
    results = [result for kind, url in targets for result in checker.index(kind, url)]
    if verbose:  # the chain and the stores' verdicts once per server
        shown = set()
        for result in results:
            where = split_url(result.final_url)[1:]
            if result.result == "ok" and result.status is not None and where not in shown:
                shown.add(where)
                checker.details(result)
    failed = any(result.result == "fail" for result in results)
    # no index lists the package: known only when every index answered
    found = checker.found if package and (checker.found or not failed) else None
    saved = saved_root(results, save_root) if save_root else None
    shim = "on" if view.settings.is_on() else "off"
    warnings = status.warnings(view) + loose_permissions(view)
    top = header(view, pip, verbose) + [f"warning: {line}" for line in warnings]
    given = package is not None
    report = Report(results, checker.package, given, found, save_root, saved, shim, top, warnings)
    if as_json:
        out.write(json.dumps(to_json(report), indent=2) + "\n")
    else:
        out.write(render(report, verbose))
    out.flush()
    return exitcodes.SUCCESS if report.ok else exitcodes.NOT_AS_ASKED


def split_url(url: str) -> Tuple[str, str, int]:
    """Scheme, host and port of a URL (``""`` scheme: a local path); a bad one is refused."""
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise ShimError(f"pip-trustshim: not a URL: {url!r} ({error})") from None
    if parts.scheme == "file" or (not parts.scheme and not parts.netloc):
        return parts.scheme, host or "", 0
    if parts.scheme not in ("https", "http") or not host:
        raise ShimError(f"pip-trustshim: not an https://, http:// or file:// URL: {url!r}")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


class Checker:
    """Makes ``check``'s requests with pip's session, and diagnoses what fails."""

    def __init__(
        self,
        view: PipView,
        pip: pipsession.Pip,
        package: Optional[str],
        timeout: float,
        verbose: bool,
    ) -> None:
        self.view = view
        self.pip = pip
        self.package = package or DEFAULT_PACKAGE
        #: whether the package was given (else another project may stand in for it)
        self.given = package is not None
        self.timeout = timeout
        self.verbose = verbose
        #: whether any index lists a file of the package
        self.found = False

    # ------------------------------------------------------------ requests

    def index(self, kind: str, url: str) -> List[Result]:
        """One index or find-links URL: its page for the package, then its newest file."""
        scheme = split_url(url)[0]
        if scheme in ("file", ""):
            skipped = Result(url, kind, result="skip", note="a local index: no network")
            return [skipped]
        if kind == "find-links" and links.is_archive(url):
            self.found = self.found or links.belongs(url, self.package)
            return [self.file(url, kind, self.package)]
        return self.project(kind, url, self.package)

    def project(self, kind: str, url: str, package: str) -> List[Result]:
        """``package``'s page on an index (or a find-links page), then its newest file."""
        target = pipsession.project_url(url, package) if kind == "index" else url
        result, response = self.fetch(target, kind, {"Accept": links.ACCEPT})
        if response is None:
            return [result]
        with response:
            if kind == "index" and response.status_code == 404:
                return self.missing(result, url, package)
            if not self.answered(result, response):
                return [result]
            return [result, *self.page(result, response, kind, package)]

    def page(self, result: Result, response: Any, kind: str, package: str) -> List[Result]:
        """A page pip would read: its type, its files; the newest file's check."""
        content_type = response.headers.get("Content-Type", "")
        if not links.is_page_type(content_type):
            detail = f"HTTP {response.status_code}, Content-Type {content_type or 'none'!r}"
            result.fail("not an index page", detail, [HINTS["not an index page"]])
            return []
        body = read(response, PAGE_LIMIT)
        project = package if kind == "find-links" else None
        files = links.file_links(body, content_type, response.url, project)
        if not files:
            if kind == "index":
                detail = f"the page of '{package}' lists no files"
                result.fail("no files", detail, ["pip download would find nothing to download"])
            else:
                result.note = f"no file of '{package}' here"
            return []
        self.found = self.found or package == self.package
        newest = links.newest(files)
        if urllib.parse.urlsplit(newest).scheme not in ("http", "https"):
            result.note = f"its newest file is not on the network: {newest}"
            return []
        return [self.file(newest, "files", package)]

    def file(self, url: str, kind: str, package: str) -> Result:
        """The start of one file, as pip would download it (a ranged GET)."""
        headers = {"Range": "bytes=0-0", "Accept-Encoding": "identity"}
        result, response = self.fetch(url, kind, headers)
        result.note = f"a file of {package}"
        if response is not None:
            with response:
                self.answered(result, response)
        return result

    def missing(self, result: Result, index: str, package: str) -> List[Result]:
        """A project page that is not there: is the index itself there? For the default
        package, the first project the index's own page lists stands in for it, so
        that its files host is checked too."""
        page, response = self.fetch(index, "index", {"Accept": links.ACCEPT})
        if response is not None and 200 <= response.status_code < 300:
            stands_in = not self.given and package == self.package
            with response:
                listed = self.listed(response) if stands_in else []
            if listed:
                result.note = (
                    f"no project '{package}' on this index; '{listed[0]}', "
                    "the first project it lists, stands in for it"
                )
                return [result, *self.project("index", index, listed[0])]
            result.note = (
                f"no project '{package}' on this index (the index page answered "
                f"{response.status_code}); its files host was not checked"
            )
            return [result]
        if response is not None:
            response.close()
        answer = f"HTTP {page.status}" if page.status else page.reason
        shown = redacted(index)
        detail = f"no project '{package}', and the index page {shown} answered: {answer}"
        result.fail("not found", detail, ["check the index URL"])
        return [result]

    def listed(self, response: Any) -> List[str]:
        """The projects an index's own page lists (none: not a page pip would read)."""
        content_type = response.headers.get("Content-Type", "")
        if not links.is_page_type(content_type):
            return []
        return links.project_names(read(response, PAGE_LIMIT), content_type)

    def fetch(self, url: str, kind: str, headers: Dict[str, str]) -> Tuple[Result, Any]:
        """GET ``url`` with pip's session; the result so far and the response, or None."""
        result = Result(url, kind, final_url=url)
        self.describe_route(result, url)
        insecure = urllib.parse.urlsplit(url).scheme == "http" and kind != "files"
        if insecure and not self.pip.secure(url):
            detail = "pip ignores an http:// index whose host is not a trusted host"
            result.fail("insecure index", detail, [HINTS["insecure index"]])
            return result, None
        try:
            response = self.pip.get(url, headers)
        except Exception as error:
            self.network_failure(result, error)
            return result, None
        result.status = response.status_code
        result.headers = {
            key: response.headers[key] for key in SHOWN_HEADERS if key in response.headers
        }
        if bare(response.url) != bare(url):
            result.final_url = response.url
            self.describe_route(result, response.url)
        return result, response

    def answered(self, result: Result, response: Any) -> bool:
        """Whether pip could use this answer; a FAIL with its hint when not."""
        status = response.status_code
        if 200 <= status < 300 and "X-Squid-Error" not in response.headers:
            return True
        text = read(response, 65536).decode("utf-8", "replace")
        reason = http_reason(status, text, result)
        detail = f"HTTP {status} {response.reason or ''}".rstrip()
        title = page_title(text)
        if title:
            detail += f": {title!r}"
        result.fail(reason, detail, [HINTS[reason]] if reason in HINTS else [])
        return False

    # ----------------------------------------------------------- diagnosis

    def network_failure(self, result: Result, error: BaseException) -> None:
        """Why pip's request got no answer: a certificate, a proxy, the network."""
        chain = probe.causes(error)
        refusal = _shim_refusal(chain)
        if refusal is not None:
            raise ShimError(refusal)
        failed = _request_url(chain) or result.final_url
        if bare(failed) != bare(result.url):
            result.final_url = failed
            self.describe_route(result, failed)
        _, host, port = split_url(failed)
        proxy = self.pip.proxy_for(failed)
        refused = probe.refusal(chain)
        if refused is not None:
            self.tls_failure(result, host, port, proxy, refused)
            return
        if proxy is not None and any(type(c).__name__ == "ProxyError" for c in chain):
            try:
                probe.tunnel(self.route(proxy), host, port, self.timeout).close()
                failure = probe.failure_of(error, f"the proxy {probe.shown(proxy)}")
            except probe.Failure as refusal_of_proxy:
                failure = refusal_of_proxy
            result.headers = {k: v for k, v in failure.headers.items() if k in SHOWN_HEADERS}
        else:
            failure = probe.failure_of(error)
        if failure.reason == "TLS failed":  # a client certificate's alert, come too late?
            client = self.view.trust.context(self.bundles(), self.pip.client_cert, host, port)
            alert = probe.alert_after_handshake(host, port, client, self.timeout, self.route(proxy))
            failure = probe.Failure(alert or failure.reason, failure.detail, failure.headers)
        reason = failure.reason
        hint = HINTS.get(reason, "")
        if reason == "unknown host":
            hint = f"{host}: {hint}"
        result.fail(reason, failure.detail, [hint] if hint else [])

    def tls_failure(
        self,
        result: Result,
        host: str,
        port: int,
        proxy: Optional[str],
        refused: Tuple[str, str],
    ) -> None:
        """A refused certificate (its reason and words): the server's, or an https://
        proxy's own."""
        route = self.route(proxy)
        reason, detail = refused
        result.failed_leg = "server"
        if proxy is not None and route.proxy_context is not None:
            _, proxy_host, proxy_port = split_url(proxy)
            own = probe.handshake(proxy_host, proxy_port, route.proxy_context, self.timeout)
            if own.verified_tls and not own.ok:
                result.failed_leg = "proxy"
                host, port, route = proxy_host, proxy_port, probe.DIRECT
                reason, detail = (
                    own.reason,
                    f"the TLS to the proxy {probe.shown(proxy)}: {own.detail}",
                )
                self.describe_trust(result, host, port, proxy=True)
        choice = self.view.trust.choose(host, port)
        result.chain = probe.unverified_chain(host, port, self.timeout, route)
        result.stores = self.verdicts(host, port, choice, route)
        store = self.view.settings.store.value
        result.fail(reason, detail, hints(reason, result.stores, choice, store))
        if reason in ENTRY_REASONS and not any(v.verdict == "yes" for v in result.stores):
            result.root = certs.root_of(result.chain)
            result.caution = caution(result.chain, result.root)

    def details(self, result: Result) -> None:
        """With -v, for a request that passed: the chain sent, and each store's verdict."""
        scheme, host, port = split_url(result.final_url)
        if scheme != "https" or not self.pip.verifies(result.final_url):
            return
        route = self.route(self.pip.proxy_for(result.final_url))
        choice = self.view.trust.choose(host, port)
        result.chain = probe.unverified_chain(host, port, self.timeout, route)
        result.stores = self.verdicts(host, port, choice, route) if result.chain else []

    def verdicts(self, host: str, port: int, choice: Choice, route: probe.Route) -> List[Verdict]:
        """Whether each other store on its own would accept this server."""
        found = []
        for candidate in other_stores(self.view.settings, self.bundles(), choice):
            try:
                context = candidate.make()
            except ShimError as error:
                found.append(Verdict(candidate.label, "unusable", str(error)))
                continue
            outcome = probe.handshake(host, port, context, self.timeout, route)
            word = "yes" if outcome.ok else "no"
            found.append(Verdict(candidate.label, word, outcome.reason))
        return found

    # -------------------------------------------------------------- routes

    def route(self, proxy: Optional[str]) -> probe.Route:
        """The way to a server through ``proxy``; an https:// proxy's TLS gets the shim's trust."""
        if proxy is None:
            return probe.DIRECT
        scheme, host, port = split_url(proxy)
        if scheme != "https":
            return probe.Route(proxy)
        return probe.Route(proxy, self.view.trust.context(self.bundles(), None, host, port))

    def bundles(self) -> Tuple[Bundle, ...]:
        """The bundles pip's session was given, each named as precisely as ``status`` does."""
        named = {bundle.path: bundle for bundle in self.view.bundles}
        return tuple(named.get(bundle.path, bundle) for bundle in self.pip.bundles())

    def describe_route(self, result: Result, url: str) -> None:
        """The proxy and the trust pip's session uses for ``url``."""
        scheme, host, port = split_url(url)
        proxy = self.pip.proxy_for(url)
        result.proxy = probe.shown(proxy) if proxy else None
        result.entries = []
        result.client_cert = None
        if scheme == "http":
            result.trust = "none, plain http"
        elif not self.pip.verifies(url):
            result.trust = "none, a trusted-host: pip does not verify it"
        else:
            self.describe_trust(result, host, port)

    def describe_trust(self, result: Result, host: str, port: int, proxy: bool = False) -> None:
        """What decides the TLS to ``host:port``: entries, or the store and the rest (pip's
        own client certificate is never presented to a proxy)."""
        settings = self.view.settings
        choice = self.view.trust.choose(host, port)
        if choice.cas:
            names = dict.fromkeys(entry.pattern.shown() for entry in choice.cas)
            result.trust = "host-ca " + ", ".join(names)
        else:
            words = [f"store {settings.store.value}"]
            words += _count(len(settings.extra_ca_paths()), "extra CA")
            words += _count(len(settings.inherited) + len(self.bundles()), "pip bundle")
            result.trust = " + ".join(words)
        result.entries = [f"trusts only host-ca {_entry(entry)}" for entry in choice.cas]
        if choice.client is not None:
            result.client_cert = f"host-client-cert {choice.client.pattern.shown()}"
            result.entries.append(f"presents host-client-cert {_entry(choice.client)}")
        elif self.pip.client_cert and not proxy:
            result.client_cert = "pip's client-cert"
        else:
            result.client_cert = None


def _count(number: int, what: str) -> List[str]:
    return [f"{number} {what}{'' if number == 1 else 's'}"] if number else []


def _shim_refusal(chain: List[BaseException]) -> Optional[str]:
    """The shim's own one-line error, if pip's session stopped with it."""
    for cause in chain:
        text = str(cause)
        if text.startswith("pip-trustshim:"):
            return text
    return None


def _request_url(chain: List[BaseException]) -> Optional[str]:
    """The URL of the request that failed (after redirects), as requests recorded it."""
    for cause in chain:
        request = getattr(cause, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str):
            return url
    return None


def read(response: Any, limit: int) -> bytes:
    """Up to ``limit`` bytes of a streamed body."""
    body = b""
    try:
        for chunk in response.iter_content(65536):
            body += chunk
            if len(body) >= limit:
                break
    except Exception:
        pass
    return body[:limit]


def page_title(text: str) -> str:
    """The ``<title>`` of an HTML answer (a proxy's or server's error page), shortened."""
    lowered = text.lower()
    start = lowered.find("<title>")
    end = lowered.find("</title>", start)
    if start < 0 or end < 0:
        return ""
    return " ".join(text[start + 7 : end].split())[:200]


def http_reason(status: int, text: str, result: Result) -> str:
    """Plain words for an HTTP answer pip could not use."""
    lowered = text.lower()
    proxied = result.proxy is not None or "Via" in result.headers
    if status == 400 and "no required ssl certificate" in lowered:
        return "client certificate required"
    if status == 400 and "ssl certificate error" in lowered:
        return "client certificate refused"
    if status == 400:
        return "bad request"
    if status == 401:
        return "credentials required"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "not found"
    if status == 407:
        return "proxy credentials required"
    if "X-Squid-Error" in result.headers or (status >= 500 and proxied):
        return "a proxy answered"
    if status >= 500:
        return "server error"
    return f"HTTP {status}"


def hints(reason: str, verdicts: List[Verdict], choice: Choice, store: str) -> List[str]:
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
    advice = {candidate.label: candidate.advice for candidate in _advice(choice, store)}
    for verdict in verdicts:
        if verdict.verdict == "yes" and advice.get(verdict.store):
            return [f"{verdict.store} would accept it: {advice[verdict.store]}"]
    return [HINTS[reason]] if reason in HINTS else []


def caution(chain: List[bytes], root: Optional[bytes]) -> str:
    """The warning to read before trusting a root that nothing here trusts."""
    if root is not None:
        info = certs.describe(root)
        return (
            f"before you trust the root CA '{info.subject}', compare its SHA-256 fingerprint "
            f"{info.sha256} with the one your IT department gives you: a root nobody "
            "told you about is what an attacker in the middle would send"
        )
    if chain:
        top = certs.describe(chain[-1])
        ask = (
            f"ask your IT department for the CA that issued '{top.issuer}', and compare its "
            "SHA-256 fingerprint with theirs"
        )
        if not certs.chain_readable():
            return (
                f"this Python shows only the server's own certificate, not the chain it sent: "
                f"{ask} (with Python 3.10 or later, check shows the chain, and --save-root "
                "saves its root)"
            )
        return f"the server did not send its root CA: {ask}"
    return ""


def saved_root(results: List[Result], path: str) -> Optional[str]:
    """Write the first untrusted root found to ``path`` as PEM; the path, or None."""
    roots = list(dict.fromkeys(result.root for result in results if result.root))
    if not roots:
        return None
    try:
        write_atomically(path, certs.pem(roots[0]).encode("ascii"), mode=0o644)
    except WriteError as error:
        raise ShimError(f"pip-trustshim: --save-root: nothing written: {error}") from None
    return path


# ---------------------------------------------------------------- stores


def other_stores(
    settings: Settings, bundles: Tuple[Bundle, ...], choice: Choice
) -> List[Candidate]:
    """The system store, certifi, each configured bundle, and the host's own entries."""
    found: List[Candidate] = []
    for word in STORE_WORDS:
        found.append(Candidate(_label(word), _store(word)))
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


def _advice(choice: Choice, store: str) -> List[Candidate]:
    """The stores worth switching to: the system store or certifi when it is not the
    store already, for a host no ``host-ca`` entry decides."""
    if choice.cas:
        return []
    return [
        Candidate(_label(word), _store(word), f"pip-trustshim enable --store {word}")
        for word in STORE_WORDS
        if word != store
    ]


def _label(word: str) -> str:
    return "the system store" if word == "system" else word


def _store(word: str) -> Callable[[], ssl.SSLContext]:
    return lambda: store_context(Setting("store", word, "check"))


def _bundle(path: str, named: Named, shown: str, label: str) -> Candidate:
    def context() -> ssl.SSLContext:
        made = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        load_bundle(made, path, named, shown)
        return made

    return Candidate(f"{path} ({label})", context)


# ---------------------------------------------------------------- output


def header(view: PipView, pip: pipsession.Pip, verbose: bool) -> List[str]:
    """Whether pip uses the shim now; with -v, what is being checked with."""
    on = view.settings.is_on()
    state = "on" if on else "OFF (pip does not use it now; checking what it would trust)"
    lines = [f"pip-trustshim is {state}"]
    if verbose:
        lines.append(f"  store: {view.settings.store.value}")
        lines += [f"  extra CA: {path}" for path in view.settings.extra_ca_paths()]
        lines += [f"  pip's bundle: {bundle.path} ({bundle.source})" for bundle in view.bundles]
        for table in (view.trust.host_ca, view.trust.host_client_cert):
            lines += [f"  {table.setting.name}: {_entry(entry)}" for entry in table.entries]
        if pip.options.proxy:
            lines.append(f"  pip's proxy: {probe.shown(pip.options.proxy)}")
        if pip.client_cert:
            lines.append(f"  pip's client-cert: {pip.client_cert}")
    return lines


def _entry(entry: hosts.Entry) -> str:
    return f"{entry.shown()} ({entry.setting.source})"


# ------------------------------------------------------------ the files


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
    """A warning for each trust-deciding file or directory that group or others may
    write (a device such as /dev/null holds nothing to change)."""
    if os.name != "posix":
        return []
    return [
        f"{path} is writable by group or others: whoever can write it decides what pip trusts"
        for path in trusted_files(view)
        if _loose(os.stat(path).st_mode)
    ]


def _loose(mode: int) -> bool:
    kept = stat.S_ISREG(mode) or stat.S_ISDIR(mode)
    return kept and bool(mode & (stat.S_IWGRP | stat.S_IWOTH))
