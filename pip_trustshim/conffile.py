"""Edit one section of a pip configuration file in place, safely.

pip's own ``Configuration.save()`` rewrites the whole file through
``configparser``: every comment is lost, and a failed write (a full disk, a
file size limit) leaves the file cut short. :func:`edit_section` instead
changes only the lines of the keys it sets or removes and keeps every other
byte (comments, other sections, line endings, a UTF-8 byte order mark). The
new text must read back through ``configparser.RawConfigParser()``, exactly as
pip reads it, with the requested values and everything else as it was; it is
then written atomically (``atomic``), keeping the file's mode and owner.
Anything that fails leaves the original untouched. The read, edit and write
happen holding the file's lock (``lock``), so edits at once never lose one
another's change; a file that already says what is asked is not written.
A dry run returns the edit without writing it (``Edited.diff``), and a
section the edit leaves empty (no key, no comment) is removed.

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
import difflib
import io
import locale
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Set, Tuple, Union

from . import lock
from .atomic import WriteError, describe, through_link, write_atomically

__all__ = [
    "ConfigFileError",
    "Edited",
    "edit_section",
    "edit_text",
    "normalize_key",
    "read_back_value",
    "read_section",
    "unified_diff",
]

BOM = b"\xef\xbb\xbf"
#: what a continuation line of a multi-line value is indented by, past its key
CONTINUATION_INDENT = "    "

# configparser reads a file in universal-newlines mode: only these end a line.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# diff and patch end a line at "\n" only.
_DIFF_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")
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
    #: the file's text before and after the edit (decoded, without the mark)
    before: str = field(default="", compare=False, repr=False)
    after: str = field(default="", compare=False, repr=False)
    #: the file existed before the edit
    existed: bool = field(default=True, compare=False)
    #: the encoding the text was read and is written in (the locale's, as pip's)
    encoding: str = field(default="utf-8", compare=False, repr=False)

    def diff(self) -> str:
        """The edit as a unified diff (empty when nothing changed); see :func:`unified_diff`."""
        mark = "\ufeff" if self.bom else ""
        old_name = self.path if self.existed else os.devnull
        return unified_diff(mark + self.before, mark + self.after, old_name, self.path)


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
    #: the line after the section: the next section's header, or the end of the file
    end: int = 0


def edit_section(
    path: Union[str, os.PathLike[str]],
    section: str,
    values: Mapping[str, Optional[str]],
    dry_run: bool = False,
) -> Edited:
    """Set (str) or remove (None) keys of ``[section]`` in the file at ``path``.

    A missing file and its missing directories are created; a symlink is
    followed and its target edited. Raises :class:`ConfigFileError`, having
    written nothing, when the file is one pip cannot read, when the edit would
    not read back as asked, or when the file cannot be written. With
    ``dry_run`` nothing is written: the result says what would be.

    The whole read, edit and write is done holding the file's lock
    (``lock.exclusive``), so two edits at once never lose either's change.
    A file that already says what is asked is neither locked nor written.
    """
    given = os.fspath(path)
    target, link = through_link(given)
    edited = _planned(target, link, section, values)
    if dry_run or not edited.changed:
        return edited
    directory = os.path.dirname(os.path.abspath(target))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise ConfigFileError(
            f"{target}: cannot create its folder {directory}: {describe(error)}; "
            "nothing was written"
        ) from None
    try:
        with lock.exclusive(target):
            edited = _planned(target, link, section, values)  # as it is now, under the lock
            if edited.changed:
                _write(edited)
    except lock.LockError as error:
        raise ConfigFileError(f"{target}: {error}; nothing was written") from None
    return edited


def _planned(
    target: str, link: Optional[str], section: str, values: Mapping[str, Optional[str]]
) -> Edited:
    """What editing ``target`` now would write (nothing is written)."""
    data = _read_file(target)
    bom = data.startswith(BOM)
    body = data[len(BOM) :] if bom else data
    encoding = locale.getpreferredencoding(False)
    text = _decode(body, encoding, target)
    new_text = edit_text(text, section, values, name=target)
    existed = os.path.lexists(target)
    return Edited(target, link, new_text != text, bom, text, new_text, existed, encoding)


def _write(edited: Edited) -> None:
    """Replace the file with ``edited.after``, atomically."""
    try:
        new_body = edited.after.encode(edited.encoding)
    except UnicodeEncodeError as error:
        raise ConfigFileError(
            f"{edited.path}: the new values cannot be written in {edited.encoding}: "
            f"{error.reason}; nothing was written"
        ) from None
    try:
        write_atomically(edited.path, (BOM if edited.bom else b"") + new_body)
    except WriteError as error:
        raise ConfigFileError(str(error)) from None


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
    if target is not None and _emptied(lines, target, section, values):
        new_text = "".join(lines[: target.header] + lines[target.end :])
        try:
            _check_result(old, new_text, section, values, name)
            return new_text
        except ConfigFileError:
            pass  # the next header would continue the value before: keep this one
    if target is None:
        new_lines = _appended_section(lines, section, values, newline)
    else:
        new_lines = _edited_lines(lines, target, values, newline)
    new_text = "".join(new_lines)
    _check_result(old, new_text, section, values, name)
    return new_text


def unified_diff(before: str, after: str, old_name: str, new_name: str) -> str:
    """The change from ``before`` to ``after`` as a unified diff, as ``diff -u`` writes it.

    Lines are split at ``\\n`` only, as ``diff`` and ``patch`` split them (a
    CRLF line keeps its ``\\r``); a last line without a line break is
    followed by ``\\ No newline at end of file``. Three lines of context;
    empty when the texts are equal.
    """
    if before == after:
        return ""
    old, new = _DIFF_LINE.findall(before), _DIFF_LINE.findall(after)
    out = []
    for line in difflib.unified_diff(old, new, old_name, new_name):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def read_section(text: str, section: str) -> Optional[Dict[str, str]]:
    """``[section]`` of a configuration ``text`` as pip reads it (keys normalized), or None."""
    parser = _parse(text, "<text>", "pip cannot read this text")
    if not parser.has_section(section):
        return None
    return {normalize_key(key): value for key, value in parser.items(section)}


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
            if in_target and target is not None:
                target.end = index
            in_target = header.group("header") == section
            if in_target and target is None:
                target = _Section(index, line[:indent], end=len(lines))
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


def _emptied(
    lines: List[str], target: _Section, section: str, values: Mapping[str, Optional[str]]
) -> bool:
    """Whether the edit removes every entry of ``target`` and the section holds nothing else.

    Nothing else: no comment line (in the section or after its header on the
    same line), only blank lines. Such a section is removed whole, header
    included, unless that would change how pip reads the rest (an indented
    header after it would become part of the value before it); one that holds
    a comment is kept, comments and all.
    """
    removed = {normalize_key(key) for key, value in values.items() if value is None}
    if not target.entries or any(value is not None for value in values.values()):
        return False
    if any(entry.key not in removed for entry in target.entries):
        return False
    if lines[target.header].strip() != f"[{section}]":
        return False
    inside: Set[int] = set()
    for entry in target.entries:
        inside.update(range(entry.start, entry.end + 1))
    rest = [lines[i] for i in range(target.header + 1, target.end) if i not in inside]
    return all(not line.strip() for line in rest)


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
