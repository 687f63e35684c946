"""The documentation's marked blocks, and the placeholders of its transcripts.

A fenced block right after ``<!-- transcript: NAME -->`` in README.md or a
file under docs/ claims to be real output: tests/test_docs.py has a story
that produces it, and compares. :func:`transcripts` finds those blocks,
:func:`rewrite` replaces one (the update mode), :class:`Placeholders` turns
what changes from run to run (temporary paths, ports, fingerprints, serial
numbers, versions, times) into the stable words the docs use instead
(``/home/me``, ``PORT``, ``11:11:...``). :func:`marked_block` reads any other
block after a ``<!-- NAME -->`` line (the README's first install), and
:func:`links` every relative link, for the link check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
#: a marker line, then a fenced block (both indented alike, as in a list item):
#: the indent, the marker, its name, the block's language, its text
_BLOCK = re.compile(
    r"^( *)<!-- ([a-z-]+)(?:: ([a-z0-9-]+))? -->\n\1```([a-z]*)\n(.*?)^\1```$", re.M | re.S
)
#: any fenced block, indented or not: the indent, the block's text
FENCED = r"^( *)```[a-z]*\n(.*?)^\1```$"
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def doc_files() -> List[Path]:
    """README.md and every Markdown file under docs/."""
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]


@dataclass
class Block:
    """A marked fenced block: where it is, its name, its text (ending in a newline)."""

    path: Path
    name: str
    text: str


def transcripts() -> List[Block]:
    """Every block marked ``<!-- transcript: NAME -->``, in file order."""
    return [
        Block(path, match.group(3), _dedent(match))
        for path in doc_files()
        for match in _BLOCK.finditer(path.read_text())
        if match.group(2) == "transcript" and match.group(3)
    ]


def _dedent(match: re.Match[str]) -> str:
    indent = len(match.group(1))
    return "".join(line[indent:] for line in match.group(5).splitlines(keepends=True))


def marked_block(path: Path, marker: str) -> str:
    """The text of the fenced block right after ``<!-- MARKER -->`` in ``path`` (one only)."""
    found = [_dedent(m) for m in _BLOCK.finditer(path.read_text()) if m.group(2) == marker]
    assert len(found) == 1, f"{path}: {len(found)} blocks marked <!-- {marker} -->"
    return found[0]


def rewrite(path: Path, name: str, text: str) -> None:
    """Replace the text of transcript ``name`` in ``path`` (the update mode)."""
    source = path.read_text()

    def replace(match: re.Match[str]) -> str:
        if match.group(2) != "transcript" or match.group(3) != name:
            return match.group(0)
        indent = match.group(1)
        body = "".join(indent + line if line.strip() else line for line in text.splitlines(True))
        return match.group(0)[: match.start(5) - match.start(0)] + body + indent + "```"

    path.write_text(_BLOCK.sub(replace, source))


def links(path: Path) -> Iterator[Tuple[str, str]]:
    """Each relative link in ``path`` (outside fenced blocks): (file part, anchor part)."""
    prose = re.sub(FENCED, "", path.read_text(), flags=re.M | re.S)
    for target in _LINK.findall(prose):
        if "://" in target or target.startswith("mailto:"):
            continue
        file_part, _, anchor = target.partition("#")
        yield file_part, anchor


def anchors(path: Path) -> List[str]:
    """The anchors GitHub makes of the headings in ``path`` (lower case, punctuation
    dropped, spaces made hyphens; a repeated heading gets ``-1``, ``-2``)."""
    prose = re.sub(FENCED, "", path.read_text(), flags=re.M | re.S)
    made: List[str] = []
    for heading in re.findall(r"^#{1,6} (.+)$", prose, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = made.count(slug) if slug in made else 0
        made.append(slug if not count else f"{slug}-{count}")
    return made


@dataclass
class Placeholders:
    """What changes from run to run, as the docs write it instead.

    ``literal`` maps real strings (paths, ``python3.13``) to the docs' (the
    longest first); ``words`` maps whole words (versions) to theirs. Ports on loopback
    become ``PORT``, ``PORT2``...; SHA-256 fingerprints ``11:11:...``,
    ``22:22:...``; trustme's random serial names ``#1``, ``#2``..., each
    numbered in the order it first appears, so equal values stay equal
    across one story's transcripts. Also trustme's and the servers' Python
    versions, times, and the line of ``_ssl.c`` in OpenSSL's errors.
    """

    literal: Dict[str, str] = field(default_factory=dict)
    words: Dict[str, str] = field(default_factory=dict)
    _seen: Dict[str, Dict[str, str]] = field(default_factory=dict)

    def _numbered(self, kind: str, value: str, make: str) -> str:
        seen = self._seen.setdefault(kind, {})
        if value not in seen:
            number = len(seen) + 1
            seen[value] = make.format(n=number, x=f"{number:X}")
        return seen[value]

    def apply(self, text: str) -> str:
        """``text`` with every variable part replaced."""
        for real in sorted(self.literal, key=len, reverse=True):
            text = text.replace(real, self.literal[real])
        for real, word in self.words.items():
            text = re.sub(rf"(?<![\w.]){re.escape(real)}(?![\w])", word, text)
        text = re.sub(
            r"\b(localhost|127\.0\.0\.1):(\d{2,5})\b",
            lambda m: (
                f"{m.group(1)}:"
                + self._numbered("port", m.group(2), "PORT{n}").replace("PORT1", "PORT")
            ),
            text,
        )
        text = re.sub(
            r"\b(?:[0-9A-F]{2}:){31}[0-9A-F]{2}\b",
            lambda m: self._numbered("sha256", m.group(0), ":".join(["{x}{x}"] * 32)),
            text,
        )
        text = re.sub(
            r"\b(Testing (?:CA|cert) #)([A-Za-z0-9_-]{16})",
            lambda m: m.group(1) + self._numbered("serial", m.group(2), "{n}"),
            text,
        )
        text = re.sub(r"\btrustme v\d+(?:\.\d+)*", "trustme vX.Y.Z", text)
        text = re.sub(r"\b_ssl\.c:\d+", "_ssl.c:NNNN", text)  # a line of the Python build
        text = re.sub(r"BaseHTTP/[\d.]+ Python/[\w.+]+", "BaseHTTP/0.6 Python/3.X.Y", text)
        text = re.sub(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "YYYY-MM-DD HH:MM:SS UTC", text)
        return re.sub(r"\b\d{4}-\d\d-\d\d \d\d:\d\d UTC", "YYYY-MM-DD HH:MM UTC", text)
