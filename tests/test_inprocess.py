"""Fast tests that run the package in this process (no venv, no pip run)."""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path
from typing import List, Tuple

import _pip_trustshim_boot
import pytest

from pip_trustshim import cli, exitcodes, settings, status


def test_the_wheel_refuses_pythons_whose_site_ignores_pth_imports(project_wheel: Path) -> None:
    """PEP 829: from 3.18 ``site`` ignores ``import`` lines in ``.pth`` files."""
    with zipfile.ZipFile(project_wheel) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = wheel.read(name).decode().splitlines()
        files = wheel.namelist()
    (requires,) = [line for line in metadata if line.startswith("Requires-Python:")]
    assert sorted(requires.split(":", 1)[1].strip().split(",")) == ["<3.18", ">=3.8"]
    assert "pip_trustshim.pth" in files and "pip_trustshim.start" not in files


def test_status_says_the_hook_cannot_run_on_such_a_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 18, 0, "final", 0))
    problems = status.hook()["problems"]
    assert "this Python ignores import lines in .pth files: the hook cannot run" in problems


# --------------------------------------------- the command line, in process


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This process's environment without the machine's pip and CA settings."""
    for name in list(os.environ):
        if name.startswith(("PIP_", "SSL_CERT_", "_PIP_TRUSTSHIM")) or name.endswith("_CA_BUNDLE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    return tmp_path


def run_cli(argv: List[str], capsys: pytest.CaptureFixture[str]) -> Tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_no_command_prints_help_and_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli([], capsys)
    assert code == exitcodes.USAGE_ERROR and out.startswith("usage: pip-trustshim") and err == ""


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["check", "ftp://example.org/"],
            "not an https://, http:// or file:// URL: 'ftp://example.org/'",
        ),
        (["check", "--timeout", "0", "https://x.test/"], "--timeout must be a positive number"),
        (["check", "https://[x/"], "not a URL: 'https://[x/'"),
    ],
)
def test_usage_errors_are_one_line(
    argv: List[str], words: str, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(argv, capsys)
    assert code == exitcodes.USAGE_ERROR
    assert err.count("\n") == 1 and err.startswith("pip-trustshim: ") and words in err, err


@pytest.mark.parametrize(
    "argv, line",
    [
        (
            ["check", "--bogus"],
            "pip-trustshim: check: unrecognized arguments: --bogus "
            "(see pip-trustshim check --help)",
        ),
        (
            ["check", "--timeout", "soon"],
            "pip-trustshim: check: argument --timeout: invalid float value: 'soon' "
            "(see pip-trustshim check --help)",
        ),
        (
            ["seed"],
            "pip-trustshim: seed: the following arguments are required: TARGET "
            "(see pip-trustshim seed --help)",
        ),
        (
            ["disable", "--global", "--user"],
            "pip-trustshim: disable: argument --user: not allowed with argument --global "
            "(see pip-trustshim disable --help)",
        ),
        (
            ["enable", "--store"],
            "pip-trustshim: enable: argument --store: expected one argument "
            "(see pip-trustshim enable --help)",
        ),
        (
            ["--bogus", "status"],
            "pip-trustshim: unrecognized arguments: --bogus (see pip-trustshim --help)",
        ),
        (
            ["export", "--no\x1b[2J\npe"],
            "pip-trustshim: export: unrecognized arguments: --no\\x1b[2J\\npe "
            "(see pip-trustshim export --help)",
        ),
    ],
    ids=[
        "unknown-option",
        "bad-value",
        "missing-target",
        "exclusive-levels",
        "missing-value",
        "before-the-command",
        "escaped",
    ],
)
def test_argparse_usage_errors_are_one_line_naming_the_command(
    argv: List[str], line: str, clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not argparse's usage line and error line: one line, as every other error."""
    code, out, err = run_cli(argv, capsys)
    assert (code, out, err) == (exitcodes.USAGE_ERROR, "", line + "\n")


def test_an_unknown_command_is_one_line(
    clean_environ: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse words the choices differently from one Python to the next."""
    code, out, err = run_cli(["frob"], capsys)
    assert code == exitcodes.USAGE_ERROR and out == "" and err.count("\n") == 1, err
    assert err.startswith("pip-trustshim: argument COMMAND: invalid choice: 'frob' "), err
    assert err.endswith(" (see pip-trustshim --help)\n") and "seed" in err, err  # the choices


def test_check_and_disable_help_say_what_they_take(capsys: pytest.CaptureFixture[str]) -> None:
    """check takes a local path too; disable leaves every other setting, host tables too."""
    for argv, words in (
        (["check", "--help"], "URL an index URL (https://, http:// or file://) or a local path"),
        (
            ["disable", "--help"],
            "Nothing else is changed: store, extra-ca, host-ca and host-client-cert stay, "
            "so 'enable' brings them back",
        ),
    ):
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 0
        assert words in " ".join(capsys.readouterr().out.split()), argv


def test_status_json_in_process(
    clean_environ: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIP_TRUSTSHIM", "on")
    monkeypatch.setenv("PIP_TRUSTSHIM_STORE", str(clean_environ / "missing.pem"))
    code, out, err = run_cli(["status", "--json"], capsys)
    report = json.loads(out)
    assert code == exitcodes.SUCCESS and err == ""
    assert report["shim"] == "on"
    assert report["settings"]["store"]["source"] == "environment variable PIP_TRUSTSHIM_STORE"
    assert report["error"].startswith("pip-trustshim: trustshim.store = ")


def test_the_off_words_of_the_hook_and_the_settings_agree() -> None:
    """The start-up hook keeps its own copy (it may import nothing of the package)."""
    assert _pip_trustshim_boot.OFF_WORDS == settings.OFF_WORDS
