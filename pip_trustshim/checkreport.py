"""What ``check`` found, and how it shows it: one line per request, or ``--json``.

A ``Result`` per request (the URL, the answer or the reason there was none,
the hints, and for a refused certificate the chain and each store's
verdict), a ``Report`` of them all, and their two renderings: text, every
line escaped (``errors.escape``: a server's words and a user's paths may
hold control characters), and the ``--json`` object of schema 1
(``docs/schemas/check.schema.json``, docs/cli.md). A password in a URL is
shown as ``****``.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import certs
from .errors import escape

#: the version of the ``--json`` output (``docs/schemas/check.schema.json``)
SCHEMA = 1


@dataclass
class Verdict:
    """Whether one store on its own would accept the server: yes, no, or unusable."""

    store: str
    verdict: str
    reason: str = ""

    def shown(self) -> str:
        if self.verdict == "yes":
            return "yes"
        return f"no, {self.reason}" if self.verdict == "no" else f"unusable ({self.reason})"


@dataclass
class Result:
    """One request ``check`` made, and what it found."""

    url: str
    #: "index" (an index's project page), "find-links" or "files"
    kind: str
    result: str = "ok"  # "ok", "fail" or "skip"
    status: Optional[int] = None
    final_url: str = ""
    reason: str = ""
    detail: str = ""
    note: str = ""
    hints: List[str] = field(default_factory=list)
    proxy: Optional[str] = None
    trust: str = ""
    client_cert: Optional[str] = None
    headers: Dict[str, str] = field(default_factory=dict)
    #: "server", or "proxy" when the TLS to an https:// proxy failed
    failed_leg: Optional[str] = None
    #: the per-host entries that decide it (shown with -v)
    entries: List[str] = field(default_factory=list)
    chain: List[bytes] = field(default_factory=list)
    stores: List[Verdict] = field(default_factory=list)
    #: the chain's self-signed root, when no store trusts it
    root: Optional[bytes] = None
    caution: str = ""

    def __post_init__(self) -> None:
        self.final_url = self.final_url or self.url

    def fail(self, reason: str, detail: str, hints: List[str]) -> None:
        self.result, self.reason, self.detail, self.hints = "fail", reason, detail, hints


@dataclass
class Report:
    """Every request made, and what follows from them."""

    results: List[Result]
    package: str
    #: whether --package was given
    given: bool
    #: whether an index lists a file of the package; None: not asked, or not known
    found: Optional[bool]
    save_root: Optional[str]
    #: the file --save-root wrote, or None
    saved: Optional[str]
    #: "on" or "off"
    shim: str
    #: the lines on top: the shim's state (and with -v what it trusts), the warnings
    header: List[str]
    warnings: List[str]

    @property
    def ok(self) -> bool:
        """Whether pip would get through: nothing failed, the package is somewhere."""
        failed = any(result.result == "fail" for result in self.results)
        return not failed and self.found is not False


def bare(url: str) -> str:
    """``url`` without a user name and password."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redacted(url: str) -> str:
    """``url`` as reports show it: a password in it becomes ``****``, as pip shows it."""
    parts = urllib.parse.urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in user:
        return url
    netloc = f"{user.split(':', 1)[0]}:****@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def render(report: Report, verbose: bool) -> str:
    """The report: one line per request, details for each failure (and for all with -v)."""
    lines = list(report.header)
    for result in report.results:
        lines.append(first_line(result))
        if result.result == "fail" or verbose:
            lines += [f"      {line}" for line in detail_lines(result, verbose)]
    if report.found is False:
        lines.append(
            f"FAIL  no index lists a file of '{report.package}': pip download would not find it"
        )
    if report.saved is not None:
        root = certs.describe(next(r.root for r in report.results if r.root))
        lines.append(f"saved the root CA '{root.subject}' (sha256 {root.sha256}) to {report.saved}")
    elif report.save_root is not None:
        refused = any(result.chain for result in report.results if result.result == "fail")
        why = (
            "no refused chain ended in a root CA the server sent (ask IT for the root)"
            if refused
            else "no certificate was refused (it saves the root of a chain pip would refuse)"
        )
        lines.append(f"--save-root: nothing written to {report.save_root}: {why}")
    return "".join(escape(line) + "\n" for line in lines)


def first_line(result: Result) -> str:
    """``OK  URL 200 (via ...; trust: ...)``, ``FAIL  URL: reason (...)``, ``SKIP ...``."""
    word = {"ok": "OK", "fail": "FAIL", "skip": "SKIP"}[result.result]
    what = f" {result.status}" if result.status is not None else ""
    if result.result == "fail" and result.reason != f"HTTP {result.status}":
        what = f"{what}: {result.reason}" if what else f": {result.reason}"
    extras = [result.note] if result.note else []
    if result.final_url != result.url:
        extras.append(f"redirected to {redacted(result.final_url)}")
    if result.proxy:
        extras.append(f"via {result.proxy}")
    if result.trust:
        proxy_trust = result.failed_leg == "proxy"
        extras.append(f"{'trust for the proxy' if proxy_trust else 'trust'}: {result.trust}")
    if result.client_cert:
        extras.append(f"client cert: {result.client_cert}")
    line = f"{word}  {redacted(result.url)}{what}"
    return line + (f" ({'; '.join(extras)})" if extras else "")


def detail_lines(result: Result, verbose: bool) -> List[str]:
    """The lines under a request: words, headers, hints, caution, chain, stores."""
    lines = list(result.entries) if verbose else []
    lines += [f"({result.detail})"] if result.detail else []
    if result.headers:
        lines.append("answered by: " + "; ".join(f"{k}: {v!r}" for k, v in result.headers.items()))
    lines += [f"hint: {hint}" for hint in result.hints]
    if result.caution:
        lines.append(f"caution: {result.caution}")
    lines += chain_lines(
        result.chain, "the proxy" if result.failed_leg == "proxy" else "the server"
    )
    if result.stores:
        lines.append("would each store accept it on its own?")
        lines += [f"  {verdict.store}: {verdict.shown()}" for verdict in result.stores]
    return lines


def chain_lines(chain: List[bytes], sender: str) -> List[str]:
    """The certificates the server (or the proxy) sent, leaf first."""
    if not chain:
        return []
    lines = [f"certificates {sender} sent:"]
    for number, der in enumerate(chain):
        info = certs.describe(der)
        lines += [
            f"  [{number}] subject: {info.subject}",
            f"      issuer:  {info.issuer}",
            f"      valid:   {info.not_before} to {info.not_after}",
            f"      sha256:  {info.sha256}",
        ]
    return lines


def to_json(report: Report) -> Dict[str, Any]:
    """The ``--json`` report, schema 1 (docs/schemas/check.schema.json, docs/cli.md)."""
    return {
        "schema": SCHEMA,
        "ok": report.ok,
        "shim": report.shim,
        "package": report.package,
        "package_given": report.given,
        "package_found": report.found,
        "warnings": report.warnings,
        "saved_root": report.saved,
        "checks": [result_json(result) for result in report.results],
    }


def result_json(result: Result) -> Dict[str, Any]:
    """One request, for ``--json``."""
    return {
        "url": redacted(result.url),
        "kind": result.kind,
        "result": result.result,
        "status": result.status,
        "final_url": redacted(result.final_url),
        "reason": result.reason or None,
        "detail": result.detail or None,
        "note": result.note or None,
        "hints": result.hints,
        "proxy": result.proxy,
        "trust": result.trust or None,
        "client_cert": result.client_cert,
        "headers": result.headers,
        "failed_leg": result.failed_leg,
        "chain": [dataclasses.asdict(certs.describe(der)) for der in result.chain],
        "stores": [
            {"store": v.store, "verdict": v.verdict, "reason": v.reason or None}
            for v in result.stores
        ],
        "caution": result.caution or None,
    }
