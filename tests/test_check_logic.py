"""The pure logic behind ``check``: reading index pages, words for answers, escaping.

In-process, no network: the end-to-end behaviour is in ``test_check``.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, List

import pytest

from pip_trustshim import check, checkreport, links, patch, trust

PAGE = b"""<!DOCTYPE html><html><head><base href="https://files.example/base/"></head><body>
<a href="pkg-1.10.0-py3-none-any.whl#sha256=00">pkg-1.10.0-py3-none-any.whl</a>
<a href="/abs/pkg-1.9.tar.gz">pkg-1.9.tar.gz</a>
<a href="https://cdn.example/pkg-1.2.0.zip">pkg-1.2.0.zip</a>
</body></html>"""


def test_html_links_resolve_against_base_and_lose_their_fragment() -> None:
    assert links.file_links(PAGE, "text/html", "https://idx.example/simple/pkg/", None) == [
        "https://files.example/base/pkg-1.10.0-py3-none-any.whl",
        "https://files.example/abs/pkg-1.9.tar.gz",
        "https://cdn.example/pkg-1.2.0.zip",
    ]


def test_json_links() -> None:
    body = json.dumps({"files": [{"url": "../../f/pkg-2.0.tar.gz"}, {"filename": "x"}]}).encode()
    found = links.file_links(
        body, "application/vnd.pypi.simple.v1+json", "https://idx.example/simple/pkg/", None
    )
    assert found == ["https://idx.example/f/pkg-2.0.tar.gz"]
    assert links.file_links(b"{not json", "application/vnd.pypi.simple.v1+json", "x", None) == []


def test_the_projects_an_index_lists() -> None:
    """The names an index's own page lists, in its order (HTML anchors' text, PEP 691)."""
    root = b'<html><body><a href="zeta/">Zeta</a>\n<a href="alpha/"> alpha </a><a>x</a></body>'
    assert links.project_names(root, "text/html") == ["Zeta", "alpha"]
    body = json.dumps({"meta": {}, "projects": [{"name": "b"}, {"x": 1}, {"name": "a"}]})
    json_type = "application/vnd.pypi.simple.v1+json"
    assert links.project_names(body.encode(), json_type) == ["b", "a"]
    assert links.project_names(b"[1, 2]", json_type) == []


def test_newest_is_the_highest_version_not_the_last_listed() -> None:
    urls = links.file_links(PAGE, "text/html", "https://idx.example/simple/pkg/", None)
    assert links.newest(urls) == "https://files.example/base/pkg-1.10.0-py3-none-any.whl"
    assert links.newest(["https://a/x-notaversion.tar.gz", "https://a/y-odd.zip"]) == (
        "https://a/y-odd.zip"
    )


def test_find_links_keep_only_the_projects_files() -> None:
    page = b'<a href="my_pkg-1.0.tar.gz">a</a><a href="my-pkg-extra-1.0.tar.gz">b</a>'
    page += b'<a href="x/">c</a>'
    found = links.file_links(page, "text/html", "https://f.example/links/", "My.Pkg")
    assert found == ["https://f.example/links/my_pkg-1.0.tar.gz"]


@pytest.mark.parametrize(
    "content_type, page",
    [
        ("text/html; charset=utf-8", True),
        ("application/vnd.pypi.simple.v1+json", True),
        ("text/plain", False),
        ("", False),
    ],
)
def test_page_types(content_type: str, page: bool) -> None:
    assert links.is_page_type(content_type) is page


def test_passwords_never_shown() -> None:
    assert checkreport.redacted("https://me:s3cret@idx.example/simple/") == (
        "https://me:****@idx.example/simple/"
    )
    assert checkreport.redacted("https://token@idx.example/") == "https://token@idx.example/"
    assert checkreport.bare("https://me:pw@idx.example:8443/x") == "https://idx.example:8443/x"


@pytest.mark.parametrize(
    "status, text, proxy, reason",
    [
        (
            400,
            "<title>400 No required SSL certificate was sent</title>",
            None,
            "client certificate required",
        ),
        (400, "<title>400 The SSL certificate error</title>", None, "client certificate refused"),
        (400, "bad", None, "bad request"),
        (418, "", None, "HTTP 418"),
        (401, "", None, "credentials required"),
        (403, "", "http://proxy:3128", "forbidden"),
        (407, "", "http://proxy:3128", "proxy credentials required"),
        (502, "", "http://proxy:3128", "a proxy answered"),
        (503, "", None, "server error"),
    ],
)
def test_words_for_an_answer(status: int, text: str, proxy: str, reason: str) -> None:
    result = checkreport.Result("https://idx.example/simple/pip/", "index", proxy=proxy)
    assert check.http_reason(status, text, result) == reason
    assert reason in check.HINTS or reason.startswith("HTTP ")


def test_a_via_header_marks_a_proxys_answer() -> None:
    result = checkreport.Result("https://idx.example/", "index", headers={"Via": "1.1 squid"})
    assert check.http_reason(504, "", result) == "a proxy answered"


def test_fitting_with_fits_the_sessions_built_inside_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``check``'s session gets the shim's trust while the shim is off; no other does."""
    for name in list(os.environ):
        if name.startswith(("PIP_", "_PIP_TRUSTSHIM")) or name.endswith("_CA_BUNDLE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("HOME", str(tmp_path))
    from pip._internal.network import session as module

    patch.patch_session_module(module)
    view = trust.as_pip_sees_it()
    assert not view.settings.is_on()
    elsewhere: List[Any] = []
    with patch.fitting_with(view.trust):
        inside = module.PipSession()
        thread = threading.Thread(target=lambda: elsewhere.append(module.PipSession()))
        thread.start()
        thread.join()
    outside = module.PipSession()
    assert "cert_verify" in vars(inside.adapters["https://"])  # fitted: the shim's own
    assert "cert_verify" not in vars(outside.adapters["https://"])
    assert "cert_verify" not in vars(elsewhere[0].adapters["https://"])  # another thread
