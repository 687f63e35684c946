"""Edit one section of a pip configuration file in place, safely.

pip's own ``Configuration.save()`` rewrites the whole file through
``configparser``: every comment is lost, and a failed write (a full disk, a
file size limit) leaves the file cut short. :func:`edit_section` instead
changes only the lines of the keys it sets or removes and keeps every other
byte (comments, other sections, line endings, a UTF-8 byte order mark). The
new text must read back through ``configparser.RawConfigParser()``, exactly as
pip reads it, with the requested values and everything else as it was; it is
then written atomically (``atomic``), keeping the file's mode and owner.
Anything that fails leaves the original untouched.

Keys are matched as pip matches them: case-insensitively, ``-`` and ``_``
alike, a leading ``--`` ignored (``extra_ca``, ``Extra-CA`` and ``extra-ca``
are one setting). A value that contains ``\\n`` is written as ``key =``
followed by one line per line of the value, indented by four spaces; pip then
reads it back with a leading newline (``"\\n" + value``), as it reads
``find-links`` and the like.

Standard library only.
"""

from __future__ import annotations

import configparser
import io
import locale
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple, Union

from .atomic import WriteError, describe, through_link, write_atomically

__all__ = [
    "ConfigFileError",
    "Edited",
    "edit_section",
    "edit_text",
    "normalize_key",
    "read_back_value",
]

BOM = b"\xef\xbb\xbf"
#: what a continuation line of a multi-line value is indented by, past its key
CONTINUATION_INDENT = "    "

# configparser reads a file in universal-newlines mode: only these end a line.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_SECTCRE = configparser.RawConfigParser.SECTCRE
_OPTCRE = configparser.RawConfigParser.OPTCRE
_NONSPACECRE = configparser.RawConfigParser.NONSPACECRE
_COMMENT_PREFIXES = ("#", ";")


class ConfigFileError(Exception):
    """A configuration file that cannot be edited, as one line naming the file."""


@dataclass(frozen=True)
class Edited:
    """What :func:`edit_section` did."""

    #: the file that was (or would have been) written; a symlink's target
    path: str
    #: the symlink that was followed to reach ``path``, or None
    link: Optional[str] = None
    #: False when the file already said exactly this and was not written
    changed: bool = True
    #: the file starts with a UTF-8 byte order mark (kept as it was); pip
    #: decodes with the locale's encoding and cannot read such a file
    bom: bool = False


@dataclass
class _Entry:
    """One ``key = value`` entry: its first and last line and its indentation."""

    key: str
    start: int
    end: int
    indent: str


@dataclass
class _Section:
    """The target section: its header line and its entries, in file order."""

    header: int
    indent: str
    entries: List[_Entry] = field(default_factory=list)
    #: the first header or key line after the header, if any
    next_line: Optional[int] = None


def edit_section(
    path: Union[str, os.PathLike[str]],
    section: str,
    values: Mapping[str, Optional[str]],
) -> Edited:
    """Set (str) or remove (None) keys of ``[section]`` in the file at ``path``.

    A missing file and its missing directories are created; a symlink is
    followed and its target edited. Raises :class:`ConfigFileError`, having
    written nothing, when the file is one pip cannot read, when the edit would
    not read back as asked, or when the file cannot be written.
    """
    given = os.fspath(path)
    target, link = through_link(given)
    data = _read_file(target)
    bom = data.startswith(BOM)
    body = data[len(BOM) :] if bom else data
    encoding = locale.getpreferredencoding(False)
    text = _decode(body, encoding, target)
    new_text = edit_text(text, section, values, name=target)
    if new_text == text:
        return Edited(target, link, changed=False, bom=bom)
    try:
        new_body = new_text.encode(encoding)
    except UnicodeEncodeError as error:
        raise ConfigFileError(
            f"{target}: the new values cannot be written in {encoding}: {error.reason}; "
            "nothing was written"
        ) from None
    try:
        write_atomically(target, (BOM if bom else b"") + new_body)
    except WriteError as error:
        raise ConfigFileError(str(error)) from None
    return Edited(target, link, changed=True, bom=bom)


def edit_text(
    text: str,
    section: str,
    values: Mapping[str, Optional[str]],
    name: str = "<text>",
) -> str:
    """The configuration ``text`` with ``values`` set or removed in ``[section]``, checked.

    The pure part of :func:`edit_section`: ``text`` is what pip reads (decoded,
    without a byte order mark); ``name`` is the file to name in errors.
    """
    _check_request(section, values, name)
    old = _parse(text, name, "pip cannot read this file")
    lines = _LINE.findall(text)
    newline = next((line[len(line.rstrip("\r\n")) :] for line in lines), "\n") or "\n"
    target = _scan(lines, section, name)
    if target is None:
        new_lines = _appended_section(lines, section, values, newline)
    else:
        new_lines = _edited_lines(lines, target, values, newline)
    new_text = "".join(new_lines)
    _check_result(old, new_text, section, values, name)
    return new_text


def normalize_key(key: str) -> str:
    """A key as pip compares it (``pip._internal.configuration._normalize_name``)."""
    key = key.lower().replace("_", "-")
    return key[2:] if key.startswith("--") else key


def read_back_value(value: str) -> str:
    """What pip reads back for ``value`` as :func:`edit_section` writes it."""
    return "\n" + value if "\n" in value else value


def _read_file(target: str) -> bytes:
    """The file's bytes, or ``b""`` when it does not exist."""
    try:
        with open(target, "rb") as file:
            return file.read()
    except FileNotFoundError:
        return b""
    except OSError as error:
        raise ConfigFileError(f"{target}: cannot read it: {describe(error)}") from None


def _decode(body: bytes, encoding: str, name: str) -> str:
    """``body`` decoded as pip decodes it, refusing what would not encode back the same."""
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        raise ConfigFileError(
            f"{name}: contains invalid {encoding} characters, which pip cannot read; "
            "nothing was written"
        ) from None
    if text.encode(encoding) != body:
        raise ConfigFileError(
            f"{name}: its {encoding} text would not be written back byte for byte; "
            "nothing was written"
        )
    return text


def _check_request(section: str, values: Mapping[str, Optional[str]], name: str) -> None:
    """Refuse a section or key name that cannot stand in a file, and two spellings of a key."""
    if (
        section == configparser.DEFAULTSECT
        or not section
        or section != section.strip()
        or any(char in section for char in "\r\n]")
    ):
        raise ConfigFileError(f"{name}: cannot edit a section named {section!r}")
    seen: Dict[str, str] = {}
    for key in values:
        normal = normalize_key(key)
        if (
            not normal
            or key != key.strip()
            or key[0] in "#;["
            or any(char in key for char in "=:\r\n")
        ):
            raise ConfigFileError(f"{name}: cannot write a key named {key!r}")
        if "\r" in (values[key] or ""):
            raise ConfigFileError(f"{name}: the value of {key!r} holds a carriage return")
        if normal in seen:
            raise ConfigFileError(
                f"{name}: {seen[normal]!r} and {key!r} are the same key for pip; give one"
            )
        seen[normal] = key


def _parse(text: str, name: str, problem: str) -> configparser.RawConfigParser:
    """``text`` read as pip reads a file: universal newlines, a strict RawConfigParser."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_file(io.StringIO(text, newline=None), name)
    except configparser.Error as error:
        raise ConfigFileError(
            f"{name}: {problem}: {_describe(error)}; nothing was written"
        ) from None
    return parser


def _describe(error: configparser.Error) -> str:
    """A configparser error as one line, without the file name."""
    if isinstance(error, configparser.DuplicateSectionError):
        return f"section [{error.section}] appears twice (line {error.lineno})"
    if isinstance(error, configparser.DuplicateOptionError):
        return f"key {error.option!r} appears twice in [{error.section}] (line {error.lineno})"
    if isinstance(error, configparser.MissingSectionHeaderError):
        return f"line {error.lineno} comes before any [section] header"
    if isinstance(error, configparser.ParsingError) and error.errors:
        # (not the line itself: Python 3.13 keeps it raw, with its line break)
        return f"line {error.errors[0][0]} is not a [section], a key = value line or a comment"
    return " ".join(str(error).split())


def _scan(lines: List[str], section: str, name: str) -> Optional[_Section]:
    """Where ``[section]`` and its entries are, following ``RawConfigParser._read``.

    A line is blank or a comment, a continuation of the key before it
    (indented more than that key's line, after any blank and comment lines),
    a section header, or a key line. An entry ends at its last continuation
    line; blank and comment lines after it are not part of it.
    """
    target: Optional[_Section] = None
    in_target = False
    entry: Optional[_Entry] = None
    indent_level = 0
    for index, line in enumerate(lines):
        value = _clean(line)
        if not value:
            continue
        found = _NONSPACECRE.search(line)
        indent = found.start() if found else 0
        if entry is not None and indent > indent_level:
            entry.end = index
            continue
        indent_level = indent
        if target is not None and in_target and target.next_line is None:
            target.next_line = index
        header = _SECTCRE.match(value)
        if header:
            in_target = header.group("header") == section
            if in_target and target is None:
                target = _Section(index, line[:indent])
            entry = None
            continue
        option = _OPTCRE.match(value)
        if option is None:
            raise ConfigFileError(f"{name}: line {index + 1} is not a key = value line")
        entry = _Entry(normalize_key(option.group("option").rstrip()), index, index, line[:indent])
        if in_target and target is not None:
            target.entries.append(entry)
    return target


def _clean(line: str) -> str:
    """The line as configparser sees it: stripped, and empty for a comment."""
    value = line.strip()
    return "" if value.startswith(_COMMENT_PREFIXES) else value


def _edited_lines(
    lines: List[str], target: _Section, values: Mapping[str, Optional[str]], newline: str
) -> List[str]:
    """``lines`` with the entries of ``values`` replaced, removed or added in ``target``."""
    spans: Dict[int, Tuple[int, List[str]]] = {}
    added: List[str] = []
    if target.entries:
        last = target.entries[-1]
        after, indent = last.end, last.indent
    else:
        after, indent = target.header, _indent_after_header(lines, target)
    for key, value in values.items():
        matches = [entry for entry in target.entries if entry.key == normalize_key(key)]
        if value is not None and not matches:
            added += _entry_lines(key, value, indent, newline)
        for number, entry in enumerate(matches):
            new = _entry_lines(key, value, entry.indent, newline) if number == 0 else []
            spans[entry.start] = (entry.end, new if value is not None else [])
    result: List[str] = []
    index = 0
    while index < len(lines):
        end, new = spans.get(index, (index, [lines[index]]))
        result += new
        if end == after and added:
            result[-1] = _terminated(result[-1], newline)
            result += added
        index = end + 1
    return result


def _indent_after_header(lines: List[str], target: _Section) -> str:
    """The indentation for a key right after a header: no less than the next line's."""
    if target.next_line is None:
        return target.indent
    following = lines[target.next_line]
    found = _NONSPACECRE.search(following)
    indent = following[: found.start()] if found else ""
    return indent if len(indent) > len(target.indent) else target.indent


def _appended_section(
    lines: List[str], section: str, values: Mapping[str, Optional[str]], newline: str
) -> List[str]:
    """``lines`` and a new ``[section]`` after them, holding the values that are set."""
    entries: List[str] = []
    for key, value in values.items():
        entries += _entry_lines(key, value, "", newline)
    if not entries:
        return lines
    if lines:
        lines = lines[:-1] + [_terminated(lines[-1], newline)]
    return lines + [f"[{section}]{newline}"] + entries


def _entry_lines(key: str, value: Optional[str], indent: str, newline: str) -> List[str]:
    """``key = value``, or ``key =`` and the value's lines indented under it."""
    if value is None:
        return []
    if "\n" not in value:
        first = f"{indent}{key} = {value}" if value else f"{indent}{key} ="
        return [first + newline]
    more = indent + CONTINUATION_INDENT
    return [f"{indent}{key} ={newline}"] + [
        (f"{more}{part}" if part else "") + newline for part in value.split("\n")
    ]


def _terminated(line: str, newline: str) -> str:
    """``line`` ending with a line break (the last line of a file may have none)."""
    return line if line.endswith(("\r", "\n")) else line + newline


def _check_result(
    old: configparser.RawConfigParser,
    new_text: str,
    section: str,
    values: Mapping[str, Optional[str]],
    name: str,
) -> None:
    """Refuse ``new_text`` unless pip reads exactly the edit into it, and nothing else changed."""
    new = _parse(new_text, name, "the edited file would not be readable by pip")
    before, after = _view(old, section), _view(new, section)
    for key, value in values.items():
        got = after[section].pop(normalize_key(key), None)
        want = None if value is None else read_back_value(value)
        if got != want:
            shown = "no value" if got is None else repr(got)
            raise ConfigFileError(
                f"{name}: {section}.{key} = {value!r} would read back as {shown}; "
                "nothing was written"
            )
        before[section].pop(normalize_key(key), None)
    if before != after:
        raise ConfigFileError(
            f"{name}: the edit of [{section}] would change other settings; nothing was written"
        )


def _view(parser: configparser.RawConfigParser, section: str) -> Dict[str, Dict[str, str]]:
    """Every section's settings as pip sees them (``[DEFAULT]`` applied, keys normalized)."""
    result: Dict[str, Dict[str, str]] = {}
    for name in set(parser.sections()) | {section}:
        items = parser.items(name if parser.has_section(name) else parser.default_section)
        result[name] = {normalize_key(key): value for key, value in items}
    return result
