"""The file links of an index page, for ``check --package``: where pip goes next.

And the projects an index's own page lists, one of which stands in for the
default package on an index without it.

A project page of a simple index (PEP 503 HTML, or the PEP 691 JSON that pip
asks for first), or a find-links page, lists the files pip may download;
``check`` follows the newest (the highest version its file name gives, the
last one listed among equals) to test the host it lives on. Links are
resolved as pip resolves them (against the page's URL, or its ``<base
href>``), without their ``#sha256=`` fragment.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from html.parser import HTMLParser
from typing import Any, List, Optional, Tuple

#: the Content-Types pip reads an index page in (anything else, pip skips the page)
PAGE_TYPES = (
    "text/html",
    "application/vnd.pypi.simple.v1+html",
    "application/vnd.pypi.simple.v1+json",
)
#: what pip asks an index for (pip 22.2 and later; older pips ask for text/html only)
ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
#: file names pip takes as a distribution (a find-links URL naming one is a file)
ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar", ".tar.xz")


def is_page_type(content_type: str) -> bool:
    """Whether pip would read a page of this Content-Type."""
    return content_type.split(";")[0].strip().lower() in PAGE_TYPES


def is_archive(url: str) -> bool:
    """Whether ``url`` names a distribution file rather than a page."""
    return urllib.parse.urlsplit(url).path.lower().endswith(ARCHIVES)


def file_links(body: bytes, content_type: str, page_url: str, project: Optional[str]) -> List[str]:
    """The files a page lists, in its order; with ``project``, only that project's."""
    if "json" in content_type.lower():
        found = _json_links(body)
        base = page_url
    else:
        parser = _Anchors()
        parser.feed(body.decode("utf-8", "replace"))
        parser.close()
        found = parser.hrefs
        base = urllib.parse.urljoin(page_url, parser.base) if parser.base else page_url
    urls = [urllib.parse.urldefrag(urllib.parse.urljoin(base, href))[0] for href in found]
    if project is not None:
        urls = [url for url in urls if is_archive(url) and belongs(url, project)]
    return urls


def project_names(body: bytes, content_type: str) -> List[str]:
    """The projects an index's own page lists (PEP 503 HTML, PEP 691 JSON), in its order."""
    if "json" in content_type.lower():
        try:
            data: Any = json.loads(body.decode("utf-8"))
            return [str(entry["name"]) for entry in data.get("projects", []) if "name" in entry]
        except (ValueError, TypeError, AttributeError, KeyError):
            return []
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    parser.close()
    return [text for text in parser.texts if text]


def newest(urls: List[str]) -> str:
    """The file of the highest version (a name without one counts lowest; ties: the last)."""
    ranked = sorted(enumerate(urls), key=lambda item: (_version(item[1]), item[0]))
    return ranked[-1][1]


def _version(url: str) -> Tuple[int, Any]:
    """A sort key for the version in a distribution's file name: (0, None) when none."""
    from pip._vendor.packaging.version import Version

    name = _file_name(url)
    stem = name[: -len(next((e for e in ARCHIVES if name.lower().endswith(e)), ""))] or name
    if name.lower().endswith(".whl"):
        words = stem.split("-")
        text = words[1] if len(words) > 1 else ""
    else:
        text = stem.rpartition("-")[2]
    try:
        return (1, Version(text))
    except Exception:  # not a version (packaging raises InvalidVersion, or another error)
        return (0, None)


def _file_name(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])


def belongs(url: str, project: str) -> bool:
    """Whether a file's name is ``project``'s: the name, then a dash and a version."""
    normal = re.sub(r"[-_.]+", "-", _file_name(url)).lower()
    prefix = re.sub(r"[-_.]+", "-", project).lower() + "-"
    return normal.startswith(prefix) and normal[len(prefix) : len(prefix) + 1].isdigit()


def _json_links(body: bytes) -> List[str]:
    try:
        data: Any = json.loads(body.decode("utf-8"))
        return [str(entry["url"]) for entry in data.get("files", []) if "url" in entry]
    except (ValueError, TypeError, AttributeError, KeyError):
        return []


class _Anchors(HTMLParser):
    """Collects ``<a href>`` in order, each anchor's text, and the first ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: List[str] = []
        self.texts: List[str] = []
        self.base = ""
        self._in_anchor = False

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        href = dict(attrs).get("href")
        if href is None:
            return
        if tag == "a":
            self.hrefs.append(href)
            self.texts.append("")
            self._in_anchor = True
        elif tag == "base" and not self.base:
            self.base = href

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_anchor = False

    def handle_data(self, data: str) -> None:
        if self._in_anchor:
            self.texts[-1] = (self.texts[-1] + data).strip()
