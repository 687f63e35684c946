"""Tests of ``pip_trustshim.conffile``: in-place, comment-keeping, atomic edits.

Fast and in-process, except one subprocess under a file size limit and one
run of the machine's real pip that reads back what was written.
"""

from __future__ import annotations

import configparser
import errno
import io
import locale
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pip_trustshim import conffile
from pip_trustshim.conffile import ConfigFileError, Edited, edit_section, edit_text

REPO = Path(__file__).resolve().parent.parent

SAMPLE = (
    b"# pip.conf of this machine; see `pip help config`\n"
    b"; another comment style\n"
    b"[global]\n"
    b"index-url = https://pypi.example/simple   # not an inline comment for pip\n"
    b"find-links =\n"
    b"\thttps://one.example/\n"
    b"\n"
    b"\thttps://two.example/\n"
    b"\n"
    b"[trustshim]\n"
    b"   # indented comment\n"
    b"Enabled:no\n"
    b"extra_ca =\n"
    b"    /etc/a.pem\n"
    b"  # a comment inside the value\n"
    b"    /etc/b.pem\n"
    b"\n"
    b"; about [install]\n"
    b"[install]\n"
    b"user = false\n"
)


def pip_view(data: bytes) -> Dict[str, Dict[str, str]]:
    """Every section's settings as pip reads them (locale encoding, universal newlines)."""
    parser = configparser.RawConfigParser()
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=locale.getpreferredencoding(False))
    parser.read_file(stream)
    return {
        name: {conffile.normalize_key(k): v for k, v in parser.items(name)}
        for name in parser.sections()
    }


def make(tmp_path: Path, data: bytes, name: str = "pip.conf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def entries(directory: Path) -> List[str]:
    """The files in ``directory``, but the lock files an edit leaves (tests/test_lock.py)."""
    return sorted(name for name in os.listdir(directory) if not LOCK_FILE.fullmatch(name))


LOCK_FILE = re.compile(r"\..+\.lock")


# --- what is written -----------------------------------------------------------------


def test_only_the_changed_line_changes(tmp_path: Path) -> None:
    path = make(tmp_path, SAMPLE)
    result = edit_section(path, "trustshim", {"enabled": "yes"})
    assert result == Edited(str(path), None, changed=True, bom=False)
    assert path.read_bytes() == SAMPLE.replace(b"Enabled:no\n", b"enabled = yes\n")
    assert entries(tmp_path) == ["pip.conf"]


def test_multi_line_entry_replaced_whole(tmp_path: Path) -> None:
    path = make(tmp_path, SAMPLE)
    edit_section(path, "trustshim", {"extra-ca": "/x.pem\n/y.pem"})
    old = b"extra_ca =\n    /etc/a.pem\n  # a comment inside the value\n    /etc/b.pem\n"
    assert path.read_bytes() == SAMPLE.replace(old, b"extra-ca =\n    /x.pem\n    /y.pem\n")
    assert pip_view(path.read_bytes())["trustshim"]["extra-ca"] == "\n/x.pem\n/y.pem"


def test_multi_line_entry_becomes_single_line(tmp_path: Path) -> None:
    path = make(tmp_path, SAMPLE)
    edit_section(path, "global", {"find-links": "/wheels"})
    old = b"find-links =\n\thttps://one.example/\n\n\thttps://two.example/\n"
    assert path.read_bytes() == SAMPLE.replace(old, b"find-links = /wheels\n")


def test_remove_single_and_multi_line_entries(tmp_path: Path) -> None:
    path = make(tmp_path, SAMPLE)
    edit_section(path, "trustshim", {"enabled": None, "extra-ca": None})
    expected = SAMPLE.replace(b"Enabled:no\n", b"").replace(
        b"extra_ca =\n    /etc/a.pem\n  # a comment inside the value\n    /etc/b.pem\n", b""
    )
    assert path.read_bytes() == expected
    assert pip_view(expected)["trustshim"] == {}


def test_add_after_the_last_entry_of_the_section(tmp_path: Path) -> None:
    path = make(tmp_path, SAMPLE)
    edit_section(path, "trustshim", {"store": "certifi", "enabled": "yes"})
    expected = SAMPLE.replace(b"Enabled:no\n", b"enabled = yes\n").replace(
        b"    /etc/b.pem\n", b"    /etc/b.pem\nstore = certifi\n"
    )
    assert path.read_bytes() == expected


def test_add_right_after_the_header_of_an_empty_section(tmp_path: Path) -> None:
    path = make(tmp_path, b"[trustshim]\n# nothing yet\n\n[global]\ntimeout = 5\n")
    edit_section(path, "trustshim", {"enabled": "yes"})
    assert path.read_bytes() == (
        b"[trustshim]\nenabled = yes\n# nothing yet\n\n[global]\ntimeout = 5\n"
    )


def test_added_keys_keep_the_section_indentation(tmp_path: Path) -> None:
    """A key indented less than the one before it would be read as part of that value."""
    path = make(tmp_path, b"[trustshim]\n  enabled = no\n  store = system\n[x]\nk = v\n")
    edit_section(path, "trustshim", {"enabled": "a\nb", "extra-ca": "/c.pem"})
    assert path.read_bytes() == (
        b"[trustshim]\n  enabled =\n      a\n      b\n  store = system\n"
        b"  extra-ca = /c.pem\n[x]\nk = v\n"
    )


@pytest.mark.parametrize("ending", [b"\n", b""])
def test_missing_section_appended(tmp_path: Path, ending: bytes) -> None:
    path = make(tmp_path, b"# only a comment\n[global]\ntimeout = 5" + ending)
    edit_section(path, "trustshim", {"enabled": "yes", "store": None, "extra-ca": "/a\n/b"})
    assert path.read_bytes() == (
        b"# only a comment\n[global]\ntimeout = 5\n"
        b"[trustshim]\nenabled = yes\nextra-ca =\n    /a\n    /b\n"
    )


def test_sections_are_case_sensitive(tmp_path: Path) -> None:
    path = make(tmp_path, b"[TrustShim]\nenabled = no\n")
    edit_section(path, "trustshim", {"enabled": "yes"})
    assert path.read_bytes() == b"[TrustShim]\nenabled = no\n[trustshim]\nenabled = yes\n"


@pytest.mark.parametrize("spelling", ["extra_ca", "EXTRA_CA", "Extra-Ca", "--extra-ca"])
def test_any_spelling_pip_accepts_is_replaced(tmp_path: Path, spelling: str) -> None:
    path = make(tmp_path, f"[trustshim]\n{spelling} = /old.pem\nenabled = yes\n".encode())
    edit_section(path, "trustshim", {"extra-ca": "/new.pem"})
    assert path.read_bytes() == b"[trustshim]\nextra-ca = /new.pem\nenabled = yes\n"


def test_both_spellings_become_one_entry(tmp_path: Path) -> None:
    """configparser allows ``extra_ca`` and ``extra-ca`` side by side; pip takes the last."""
    path = make(tmp_path, b"[trustshim]\nextra_ca = /a\nenabled = yes\nextra-ca = /b\n")
    edit_section(path, "trustshim", {"extra-ca": "/c"})
    assert path.read_bytes() == b"[trustshim]\nextra-ca = /c\nenabled = yes\n"


def test_crlf_file_stays_crlf(tmp_path: Path) -> None:
    original = SAMPLE.replace(b"\n", b"\r\n")
    path = make(tmp_path, original)
    edit_section(path, "trustshim", {"enabled": "yes", "store": "system", "extra-ca": "/a\n/b"})
    data = path.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.startswith(original.split(b"Enabled")[0])
    assert b"enabled = yes\r\nextra-ca =\r\n    /a\r\n    /b\r\nstore = system\r\n\r\n" in data


def test_bom_kept_and_reported(tmp_path: Path) -> None:
    """Kept as asked, and flagged: pip decodes with the locale's codec and cannot read it."""
    path = make(tmp_path, b"\xef\xbb\xbf[trustshim]\r\nenabled = no\r\n")
    result = edit_section(path, "trustshim", {"enabled": "yes"})
    assert result.bom
    assert path.read_bytes() == b"\xef\xbb\xbf[trustshim]\r\nenabled = yes\r\n"


def test_non_ascii_bytes_kept(tmp_path: Path) -> None:
    original = "# Grüße\n[global]\nuser-agent = café ☕\n".encode()
    path = make(tmp_path, original)
    edit_section(path, "trustshim", {"store": "/certs/zertifikat-ü.pem"})
    assert path.read_bytes() == original + "[trustshim]\nstore = /certs/zertifikat-ü.pem\n".encode()


def test_unchanged_file_is_not_written(tmp_path: Path) -> None:
    path = make(tmp_path, b"[trustshim]\nenabled = yes\n")
    before = os.stat(path)
    result = edit_section(path, "trustshim", {"enabled": "yes", "store": None})
    assert not result.changed
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_removing_from_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    result = edit_section(tmp_path / "a" / "pip.conf", "trustshim", {"enabled": None})
    assert not result.changed
    assert entries(tmp_path) == []


def test_missing_file_and_directories_created(tmp_path: Path) -> None:
    path = tmp_path / "config" / "pip" / "pip.conf"
    old_umask = os.umask(0o027)
    try:
        edit_section(path, "trustshim", {"enabled": "yes"})
    finally:
        os.umask(old_umask)
    assert path.read_bytes() == b"[trustshim]\nenabled = yes\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert entries(path.parent) == ["pip.conf"]


def test_continuation_line_starting_with_a_bracket(tmp_path: Path) -> None:
    """Indented under its key, ``[x]`` is part of the value: configparser looks for
    continuation lines before section headers."""
    path = make(tmp_path, b"")
    edit_section(path, "trustshim", {"hosts": "a.example = /a.pem\n[b.example] = /b.pem"})
    assert pip_view(path.read_bytes()) == {
        "trustshim": {"hosts": "\na.example = /a.pem\n[b.example] = /b.pem"}
    }


# --- a section the edit empties ----------------------------------------------------------


@pytest.mark.parametrize(
    "original",
    [
        "",
        "[global]\ntimeout = 60\n",
        "# IT's file\n[global]\ntimeout = 60\n\n[install]\nuser = false\n",
        "[global]\r\ntimeout = 60\r\n",
    ],
)
def test_enable_then_disable_gives_the_file_back(tmp_path: Path, original: str) -> None:
    """The section ``enable`` added is removed whole when removing its last key empties it."""
    path = make(tmp_path, original.encode())
    edit_section(path, "trustshim", {"enabled": "yes"})
    assert b"[trustshim]" in path.read_bytes()
    result = edit_section(path, "trustshim", {"enabled": None})
    assert result.changed and path.read_bytes() == original.encode()


def test_emptied_section_goes_with_its_blank_lines(tmp_path: Path) -> None:
    path = make(tmp_path, b"[global]\na = 1\n\n[trustshim]\n\nenabled = yes\n\n[install]\nb = 2")
    edit_section(path, "trustshim", {"enabled": None})
    assert path.read_bytes() == b"[global]\na = 1\n\n[install]\nb = 2"


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        # a comment in the section: the section stays, with it
        (
            "[trustshim]\n# switched on for the corp proxy\nenabled = yes\n",
            "[trustshim]\n# switched on for the corp proxy\n",
        ),
        ("[trustshim]\nenabled = yes\n; off on Fridays\n", "[trustshim]\n; off on Fridays\n"),
        # a comment after the header, on its line
        ("[trustshim] ; mine\nenabled = yes\n", "[trustshim] ; mine\n"),
        # another key: not emptied
        ("[trustshim]\nenabled = yes\nstore = certifi\n", "[trustshim]\nstore = certifi\n"),
        # a comment inside the value goes with the value
        ("[trustshim]\nenabled =\n  yes\n  # inside\n  on\n[x]\n", "[x]\n"),
    ],
)
def test_section_with_comments_or_keys_is_kept(
    tmp_path: Path, original: str, expected: str
) -> None:
    path = make(tmp_path, original.encode())
    edit_section(path, "trustshim", {"enabled": None})
    assert path.read_text() == expected


def test_an_empty_section_is_left_alone(tmp_path: Path) -> None:
    """Not emptied by this edit (nothing was removed): unchanged, not written."""
    path = make(tmp_path, b"[trustshim]\n[global]\na = 1\n")
    assert not edit_section(path, "trustshim", {"enabled": None}).changed
    assert path.read_bytes() == b"[trustshim]\n[global]\na = 1\n"


# --- dry run and diff -------------------------------------------------------------------


def test_dry_run_writes_nothing_and_says_what_it_would(tmp_path: Path) -> None:
    path = make(tmp_path, SAMPLE)
    before = os.stat(path)
    result = edit_section(path, "trustshim", {"enabled": "yes"}, dry_run=True)
    assert result.changed and result.before == SAMPLE.decode()
    assert result.after == SAMPLE.decode().replace("Enabled:no", "enabled = yes")
    assert path.read_bytes() == SAMPLE
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert os.listdir(tmp_path) == ["pip.conf"]  # not even a lock file
    assert result.diff() == (
        f"--- {path}\n"
        f"+++ {path}\n"
        "@@ -9,7 +9,7 @@\n"
        " \n"
        " [trustshim]\n"
        "    # indented comment\n"
        "-Enabled:no\n"
        "+enabled = yes\n"
        " extra_ca =\n"
        "     /etc/a.pem\n"
        "   # a comment inside the value\n"
    )
    edit_section(path, "trustshim", {"enabled": "yes"})
    assert path.read_bytes().decode() == result.after


def test_dry_run_of_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "pip" / "pip.conf"
    result = edit_section(path, "trustshim", {"enabled": "yes"}, dry_run=True)
    assert result.diff() == (
        f"--- /dev/null\n+++ {path}\n@@ -0,0 +1,2 @@\n+[trustshim]\n+enabled = yes\n"
    )
    assert os.listdir(tmp_path) == []


def test_unchanged_file_is_neither_locked_nor_written(tmp_path: Path) -> None:
    path = make(tmp_path, b"[trustshim]\nenabled = yes\n")
    result = edit_section(path, "trustshim", {"enabled": "yes"})
    assert not result.changed and result.diff() == ""
    assert os.listdir(tmp_path) == ["pip.conf"]


DIFF_TEXTS = [
    "",
    "a\n",
    "no line break at the end",
    "[trustshim]\r\nenabled = no\r\n",
    "\ufeff[trustshim]\nenabled = no",
    "one\rtwo\n",
    "x\n" * 20,
]


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch(1)")
@settings(max_examples=60, deadline=None)
@given(
    before=st.sampled_from(DIFF_TEXTS) | st.text("ab\r\n ", max_size=30),
    after=st.sampled_from(DIFF_TEXTS) | st.text("ab\r\n ", max_size=30),
)
def test_patch_applies_the_diff_exactly(
    tmp_path_factory: pytest.TempPathFactory, before: str, after: str
) -> None:
    """What ``--dry-run`` prints, given to patch(1), makes the file that would be written."""
    directory = tmp_path_factory.mktemp("patch")
    target = directory / "pip.conf"
    target.write_bytes(before.encode())
    diff = conffile.unified_diff(before, after, str(target), str(target))
    assert (diff == "") == (before == after)
    if diff:
        run = subprocess.run(
            ["patch", "--batch", "--silent", "--posix", str(target)],
            input=diff.encode(),
            capture_output=True,
            timeout=60,
        )
        assert run.returncode == 0, (diff, run.stdout, run.stderr)
    assert target.read_bytes() == after.encode()


# --- what is refused, with nothing written ----------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"[trustshim]\n[global]\n[trustshim]\n", "section [trustshim] appears twice (line 3)"),
        (b"[trustshim]\nstore = a\nStore = b\n", "key 'store' appears twice in [trustshim]"),
        (b"enabled = yes\n", "line 1 comes before any [section] header"),
        (b"[trustshim]\nenabled\n", "line 2 is not a [section], a key = value line"),
        (b"[trustshim]\nstore = \xff\n", "contains invalid"),
    ],
)
def test_file_pip_cannot_read_is_refused(tmp_path: Path, data: bytes, problem: str) -> None:
    path = make(tmp_path, data)
    with pytest.raises(ConfigFileError) as caught:
        edit_section(path, "trustshim", {"enabled": "yes"})
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message
    assert path.read_bytes() == data
    assert entries(tmp_path) == ["pip.conf"]


@pytest.mark.parametrize(
    "value",
    [" lead", "trail ", "tab\t", "a\n  indented", "a\n# comment", "a\n;x", "a\n", "a\rb", "a\n "],
)
def test_value_that_would_not_read_back_is_refused(tmp_path: Path, value: str) -> None:
    path = make(tmp_path, SAMPLE)
    with pytest.raises(ConfigFileError, match=f"^{re.escape(str(path))}: "):
        edit_section(path, "trustshim", {"store": value})
    assert path.read_bytes() == SAMPLE


@pytest.mark.parametrize(
    ("section", "values"),
    [
        ("trustshim", {"a=b": "1"}),
        ("trustshim", {"#x": "1"}),
        ("trustshim", {"[x]": "1"}),
        ("trustshim", {" x": "1"}),
        ("trustshim", {"": "1"}),
        ("trustshim", {"extra-ca": "1", "extra_ca": None}),
        ("DEFAULT", {"x": "1"}),
        ("", {"x": "1"}),
        ("a]b", {"x": "1"}),
    ],
)
def test_bad_names_are_refused(tmp_path: Path, section: str, values: Dict[str, Any]) -> None:
    path = make(tmp_path, SAMPLE)
    with pytest.raises(ConfigFileError):
        edit_section(path, section, values)
    assert path.read_bytes() == SAMPLE


def test_removal_that_default_section_undoes_is_refused(tmp_path: Path) -> None:
    """``[DEFAULT]`` keys show in every section pip reads: removing one there is no removal."""
    data = b"[DEFAULT]\nenabled = yes\n[trustshim]\nenabled = yes\n"
    path = make(tmp_path, data)
    with pytest.raises(ConfigFileError, match="would read back as 'yes'"):
        edit_section(path, "trustshim", {"enabled": None})
    assert path.read_bytes() == data


# --- files, links, permissions ------------------------------------------------------------


def test_symlink_target_is_edited_and_link_kept(tmp_path: Path) -> None:
    real = make(tmp_path, b"# real\n[trustshim]\nenabled = no\n", "real.conf")
    (tmp_path / "etc").mkdir()
    link = tmp_path / "etc" / "pip.conf"
    link.symlink_to("../real.conf")
    result = edit_section(link, "trustshim", {"enabled": "yes"})
    assert result == Edited(os.path.realpath(real), str(link), changed=True, bom=False)
    assert os.readlink(link) == "../real.conf"
    assert real.read_bytes() == b"# real\n[trustshim]\nenabled = yes\n"
    assert entries(tmp_path) == ["etc", "real.conf"]
    assert entries(tmp_path / "etc") == ["pip.conf"]


def test_dangling_symlink_creates_the_target(tmp_path: Path) -> None:
    link = tmp_path / "pip.conf"
    link.symlink_to(tmp_path / "made" / "pip.conf")
    result = edit_section(link, "trustshim", {"enabled": "yes"})
    assert result.path == os.path.realpath(tmp_path / "made" / "pip.conf")
    assert link.is_symlink()
    assert link.read_bytes() == b"[trustshim]\nenabled = yes\n"


def test_mode_kept(tmp_path: Path) -> None:
    path = make(tmp_path, SAMPLE)
    path.chmod(0o640)
    edit_section(path, "trustshim", {"enabled": "yes"})
    assert path.stat().st_mode & 0o7777 == 0o640


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_owner_and_group_kept(tmp_path: Path) -> None:
    path = make(tmp_path, SAMPLE)
    os.chown(path, 4321, 8765)
    edit_section(path, "trustshim", {"enabled": "yes"})
    status = path.stat()
    assert (status.st_uid, status.st_gid) == (4321, 8765)


# --- atomicity ------------------------------------------------------------------------


def disk_full(*args: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("failing", ["write", "fsync", "replace", "fchmod"])
def test_failed_write_leaves_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = make(tmp_path, SAMPLE)
    real_write = os.write

    def half_then_full(descriptor: int, data: Any) -> int:
        if descriptor > 2 and len(data) > 1:
            written = real_write(descriptor, bytes(data[: len(data) // 2]))
            monkeypatch.setattr(os, "write", disk_full)
            return written
        return real_write(descriptor, data)

    monkeypatch.setattr(os, failing, half_then_full if failing == "write" else disk_full)
    with pytest.raises(ConfigFileError) as caught:
        edit_section(path, "trustshim", {"enabled": "yes", "store": "x" * 10_000})
    monkeypatch.undo()
    assert str(caught.value) == (
        f"{path}: cannot write it: No space left on device; the file was left as it was"
    )
    assert path.read_bytes() == SAMPLE
    assert entries(tmp_path) == ["pip.conf"]


def test_file_size_limit_leaves_the_original(tmp_path: Path) -> None:
    """A real ``RLIMIT_FSIZE`` (``ulimit -f``) failure, in a child process."""
    pytest.importorskip("resource")
    path = make(tmp_path, SAMPLE)
    script = textwrap.dedent(
        f"""
        import resource, sys
        from pip_trustshim.conffile import ConfigFileError, edit_section
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(SAMPLE) + 4096}, resource.RLIM_INFINITY))
        try:
            edit_section({str(path)!r}, "trustshim", {{"store": "x" * 1_000_000}})
        except ConfigFileError as error:
            print(error)
            sys.exit(3)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3, run.stderr
    assert run.stdout == f"{path}: cannot write it: File too large; the file was left as it was\n"
    assert path.read_bytes() == SAMPLE
    assert entries(tmp_path) == ["pip.conf"]


# --- properties -----------------------------------------------------------------------

SECTIONS = ["global", "install", "trustshim", "TrustShim", "other"]
FILE_KEYS = ["enabled", "store", "extra-ca", "extra_ca", "EXTRA-CA", "--timeout", "index-url"]
EDIT_KEYS = ["enabled", "store", "extra-ca", "timeout", "new-key"]
SPELLINGS = {
    "enabled": ["enabled", "Enabled"],
    "store": ["store", "STORE"],
    "extra-ca": ["extra-ca", "extra_ca", "Extra_CA"],
    "timeout": ["timeout", "--timeout"],
    "new-key": ["new-key", "new_key"],
}
WORD = st.text(alphabet="abcXYZ019 ./:=-_[]#;%\"'é", min_size=1, max_size=12).filter(
    lambda text: text == text.strip() and not text.startswith(("#", ";"))
)
INDENTS = st.sampled_from(["", " ", "  ", "\t"])
COMMENT = st.builds(
    "{}{} {}".format, INDENTS, st.sampled_from(["#", ";"]), st.sampled_from(["", "c", "[x]"])
)
BLANK = st.sampled_from(["", "  ", "\t"])
#: a line of a generated file: its text and the (section, key) of the entry it is in
Line = Tuple[str, Optional[Tuple[str, str]]]


@st.composite
def config_files(draw: Any) -> Tuple[List[Line], str, bool]:
    """A file pip can read: comments, blank lines, sections, one- and multi-line entries."""
    lines: List[Line] = [(text, None) for text in draw(st.lists(COMMENT | BLANK, max_size=2))]
    indent = " "
    for section in draw(st.lists(st.sampled_from(SECTIONS), unique=True, min_size=1, max_size=4)):
        # indented more than the key before it, a header would continue that value
        lines.append((draw(st.sampled_from(["", indent])) + f"[{section}]", None))
        indent = draw(st.sampled_from(["", " "]))
        keys = draw(st.lists(st.sampled_from(FILE_KEYS), unique_by=str.lower, max_size=5))
        indent = indent if keys else " "
        for key in keys:
            lines += [(text, None) for text in draw(st.lists(COMMENT | BLANK, max_size=2))]
            lines += entry_lines(draw, indent, key, section)
        lines += [(text, None) for text in draw(st.lists(COMMENT | BLANK, max_size=2))]
    return lines, draw(st.sampled_from(["\n", "\r\n"])), draw(st.booleans())


def entry_lines(draw: Any, indent: str, key: str, section: str) -> List[Line]:
    where = (section, conffile.normalize_key(key))
    delimiter = draw(st.sampled_from(["=", " = ", ":", " : ", "  =\t"]))
    first = draw(st.sampled_from(["", "v"]) | WORD)
    result: List[Line] = [(f"{indent}{key}{delimiter}{first}".rstrip(), where)]
    deeper = indent + draw(st.sampled_from(["    ", "\t", " "]))
    for part in draw(st.lists(WORD, max_size=3)):
        result += [(text, where) for text in draw(st.lists(COMMENT | BLANK, max_size=1))]
        result.append((deeper + part, where))
    return result


VALUES = st.one_of(
    st.none(),
    WORD,
    st.just(""),
    st.lists(WORD | st.just(""), min_size=1, max_size=4)
    .map(lambda parts: "\n".join([*parts, "end"]))
    .filter(lambda value: "\n" in value),
)


@st.composite
def edits(draw: Any) -> Dict[str, Optional[str]]:
    names = draw(st.lists(st.sampled_from(EDIT_KEYS), unique=True, max_size=4))
    return {draw(st.sampled_from(SPELLINGS[name])): draw(VALUES) for name in names}


def written_lines(value: Optional[str]) -> int:
    if value is None:
        return 0
    return 1 + len(value.split("\n")) if "\n" in value else 1


@st.composite
def cases(draw: Any) -> Tuple[List[Line], str, bool, str, Dict[str, Optional[str]]]:
    """A file, mostly one of its sections (else a new one) and an edit of it."""
    lines, newline, last_terminated = draw(config_files())
    headers = [text for text, where in lines if where is None and text.lstrip()[:1] == "["]
    present = [text.strip()[1:-1] for text in headers]
    section = draw(st.sampled_from(present * 4 + ["new"]))
    if draw(st.booleans()):  # remove every key of the section, which may empty it
        keys = {where[1] for _, where in lines if where is not None and where[0] == section}
        return lines, newline, last_terminated, section, {key: None for key in keys}
    return lines, newline, last_terminated, section, draw(edits())


def emptied_lines(lines: List[Line], section: str, change: Dict[str, Optional[str]]) -> Set[int]:
    """The lines an edit that empties ``[section]`` removes with it: its header and blanks.

    None are when the section keeps an entry or holds a comment (then it stays).
    """
    headers = [
        i for i, (text, where) in enumerate(lines) if where is None and text.strip()[:1] == "["
    ]
    start = next((i for i in headers if lines[i][0].strip() == f"[{section}]"), None)
    if start is None or any(value is not None for value in change.values()):
        return set()
    end = next((i for i in headers if i > start), len(lines))
    span = range(start + 1, end)
    removed = {conffile.normalize_key(key) for key in change}
    keys = {lines[i][1][1] for i in span if lines[i][1] is not None}  # type: ignore[index]
    rest = [i for i in span if lines[i][1] is None]
    if not keys or not keys <= removed or any(lines[i][0].strip() for i in rest):
        return set()
    return {start, *rest}


def reads_the_same_without(
    text: str, removed: Set[int], view: Dict[str, Dict[str, str]], section: str
) -> bool:
    """Whether pip reads ``text`` without the lines ``removed`` as ``view`` without ``section``."""
    lines = re.findall(r".*\n|.+\Z", text)
    shorter = "".join(line for number, line in enumerate(lines) if number not in removed)
    try:
        got = pip_view(shorter.encode())
    except configparser.Error:
        return False
    return got == {name: items for name, items in view.items() if name != section}


@settings(max_examples=300, deadline=None)
@given(case=cases())
def test_edit_reads_back_and_keeps_every_other_line(
    case: Tuple[List[Line], str, bool, str, Dict[str, Optional[str]]],
) -> None:
    lines, newline, last_terminated, section, change = case
    if lines and not last_terminated and lines[-1][0] == "":
        lines, last_terminated = lines[:-1], True  # the text ends with a line break
    text = newline.join(line for line, _ in lines) + (newline if last_terminated and lines else "")
    before = pip_view(text.encode())

    new_text = edit_text(text, section, change)

    after = pip_view(new_text.encode())
    for key, value in change.items():
        got = after.get(section, {}).pop(conffile.normalize_key(key), None)
        assert got == (None if value is None else conffile.read_back_value(value))
        before.get(section, {}).pop(conffile.normalize_key(key), None)
    edited = {(section, conffile.normalize_key(key)) for key in change}
    emptied = emptied_lines(lines, section, change)
    gone = emptied | {number for number, (_, where) in enumerate(lines) if where in edited}
    if emptied and not reads_the_same_without(text, gone, before, section):
        emptied = set()  # the section is kept: a later line would read differently
    if emptied:  # a section the edit empties is removed
        assert before.pop(section) == {} and section not in after
    if section not in before:
        assert after.pop(section, {}) == {}
    assert after == before

    kept = [
        line + (newline if number < len(lines) - 1 or last_terminated else "")
        for number, (line, where) in enumerate(lines)
        if where not in edited and number not in emptied
    ]
    output = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z", new_text)
    added = sum(written_lines(value) for value in change.values())
    new_header = section not in before and added > 0 and not emptied
    assert len(output) == len(kept) + added + new_header
    added_break = newline if newline in text else "\n"  # no line break to copy: "\n"
    rest = iter(output)
    for line in kept:  # in the same order, each as it was (the last may gain a line break)
        assert any(new in (line, line + added_break) for new in rest), line

    assert edit_text(new_text, section, change) == new_text


@settings(max_examples=50, deadline=None)
@given(model=config_files(), change=edits())
def test_edit_section_writes_what_edit_text_returns(
    tmp_path_factory: pytest.TempPathFactory,
    model: Tuple[List[Line], str, bool],
    change: Dict[str, Optional[str]],
) -> None:
    lines, newline, _ = model
    text = newline.join(line for line, _ in lines)
    path = make(tmp_path_factory.mktemp("prop"), text.encode())
    result = edit_section(path, "trustshim", change)
    assert path.read_bytes() == edit_text(text, "trustshim", change).encode()
    assert result.changed == (path.read_bytes() != text.encode())
    assert entries(path.parent) == ["pip.conf"]


# --- real pip ---------------------------------------------------------------------------


def test_real_pip_reads_what_was_written(tmp_path: Path) -> None:
    """``pip config`` of the machine's python3, in an environment built from scratch."""
    python = subprocess.run(
        ["python3", "-c", "import sys, pip; print(sys.executable)"],
        capture_output=True,
        text=True,
    )
    if python.returncode != 0:
        pytest.skip("the machine's python3 has no pip")
    home = tmp_path / "home"
    user_file = home / ".config" / "pip" / "pip.conf"
    env_file = make(tmp_path, SAMPLE)
    for path in (user_file, env_file):
        edit_section(path, "trustshim", {"store": "/etc/ssl/my bundle.pem", "extra-ca": "/a\n/b"})
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home)}

    def pip(*args: str, **extra: str) -> str:
        run = subprocess.run(
            [python.stdout.strip(), "-m", "pip", "config", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    # `pip config get` reads only the user file unless told --global/--site.
    assert pip("--user", "get", "trustshim.store") == "/etc/ssl/my bundle.pem\n"
    listed = pip("list", PIP_CONFIG_FILE=str(env_file))
    assert "trustshim.store='/etc/ssl/my bundle.pem'\n" in listed
    assert "trustshim.extra-ca='\\n/a\\n/b'\n" in listed
    assert "global.find-links='\\nhttps://one.example/\\n\\nhttps://two.example/'\n" in listed
