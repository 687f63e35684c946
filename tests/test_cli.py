"""End to end: docs/specification.md "Command line", run inside real venvs.

``python -m pip_trustshim`` and the ``pip-trustshim`` console script, on
pip 23.2.1 / CPython 3.11 and pip 26.3 / CPython 3.13, against real TLS
servers on 127.0.0.1 (``check`` has its own module, ``test_check``). Every
run gets the scrubbed environment of ``lib.venvs.scrubbed_env``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from lib.pki import Pki
from lib.running import cli
from lib.servers import TlsIndex
from lib.venvs import Venv, fresh_venv, scrubbed_env

ON = {"PIP_TRUSTSHIM": "1"}


def script(
    venv: Venv, args: List[str], home: Path, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    """The ``pip-trustshim`` console script, with the same scrubbed environment."""
    return subprocess.run(
        [str(venv.bin / "pip-trustshim"), *args],
        env=scrubbed_env(venv.bin, home, None, env),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(proc: subprocess.CompletedProcess[str], code: int, *expected: str) -> str:
    """The command stopped with ``code`` and one ``pip-trustshim:`` line, no traceback."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, out
    assert "Traceback" not in out
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pip-trustshim: "), proc.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def user_env(home: Path) -> Dict[str, str]:
    """XDG dirs under HOME, so the global and user files are the test's own."""
    return {"XDG_CONFIG_DIRS": str(home / "xdg"), "XDG_CONFIG_HOME": str(home / ".config")}


# ------------------------------------------------------------------- help


@pytest.mark.parametrize("command", [[], ["status"], ["check"], ["enable"], ["disable"]])
def test_help_on_every_command(venv: Venv, home: Path, command: List[str]) -> None:
    proc = cli(venv, [*command, "--help"], home)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: pip-trustshim {' '.join(command)}".rstrip())
    assert "exit status" in proc.stdout


def test_no_command_and_bad_option_are_usage_errors(venv: Venv, home: Path) -> None:
    assert cli(venv, [], home).returncode == 2
    expected = "pip-trustshim: check: argument --timeout: invalid float value: 'soon' "
    expected += "(see pip-trustshim check --help)"
    for run in (cli, script):  # python -m pip_trustshim, and the installed script
        proc = run(venv, ["check", "--timeout", "soon"], home)
        assert one_error_line(proc, 2) == expected and proc.stdout == ""


# ----------------------------------------------------------------- status


def status_json(
    venv: Venv, home: Path, env: Optional[Dict[str, str]] = None, config_file: Optional[str] = None
) -> Dict[str, Any]:
    proc = cli(venv, ["status", "--json"], home, env=env, config_file=config_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report: Dict[str, Any] = json.loads(proc.stdout)
    return report


def test_status_json_defaults_and_install(venv: Venv, home: Path) -> None:
    report = status_json(venv, home)
    assert set(report) == {
        "schema",
        "shim",
        "error",
        "settings",
        "extra_ca",
        "hosts",
        "pip_bundles",
        "warnings",
        "versions",
        "python",
        "hook",
    }
    assert report["schema"] == 1
    assert report["shim"] == "off" and report["error"] is None and report["warnings"] == []
    assert report["settings"] == {
        "enabled": {"value": "off", "source": "default"},
        "store": {"value": "system", "source": "default"},
        "extra-ca": {"value": "", "source": "default"},
        "host-ca": {"value": "", "source": "default"},
        "host-client-cert": {"value": "", "source": "default"},
    }
    assert report["hosts"] == []
    assert report["extra_ca"] == [] and report["pip_bundles"] == []
    assert report["warnings"] == []
    versions = report["versions"]
    assert versions["pip"] == venv.pip_version
    assert versions["python"].startswith(venv.python_version + ".")
    assert versions["certifi"] and versions["pip-trustshim"]
    # the installed distributions' versions, which a module's __version__ may not match
    code = "import importlib.metadata as m; print(m.version('certifi'), m.version('pip-trustshim'))"
    installed = venv.run(["-c", code], home).stdout.split()
    assert [versions["certifi"], versions["pip-trustshim"]] == installed
    # truststore needs 3.10+ (a dependency there; pip's vendored copy refuses older Pythons)
    py310 = tuple(int(part) for part in venv.python_version.split(".")) >= (3, 10)
    assert bool(versions["truststore"]) == py310, versions
    site_packages = venv.site_packages()
    assert report["hook"] == {
        "pth": str(site_packages / "pip_trustshim.pth"),
        "boot": str(site_packages / "_pip_trustshim_boot.py"),
        "problems": [],
        "active": True,
    }
    # python -S runs no .pth: the package found through PYTHONPATH says the hook is not active
    path = {"PYTHONPATH": str(site_packages)}
    proc = venv.run(["-S", "-m", "pip_trustshim", "status", "--json"], home, env=path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hook"]["active"] is False


def test_status_names_each_source(venv: Venv, home: Path, pki: Pki) -> None:
    user = home / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.write_text(f"[trustshim]\nenabled = yes\nstore = {pki.ca_pem}\n")
    no_config_file = ""  # no PIP_CONFIG_FILE: pip reads the user file
    env = {**user_env(home), "PIP_TRUSTSHIM_EXTRA_CA": str(pki.other_ca_pem)}
    report = status_json(venv, home, env=env, config_file=no_config_file)
    assert report["shim"] == "on" and report["error"] is None
    assert report["settings"]["enabled"] == {"value": "yes", "source": f"{user} (user)"}
    assert report["settings"]["store"] == {"value": str(pki.ca_pem), "source": f"{user} (user)"}
    assert report["settings"]["extra-ca"]["source"] == "environment variable PIP_TRUSTSHIM_EXTRA_CA"
    assert report["extra_ca"] == [str(pki.other_ca_pem)]
    conf = home / "pip.conf"
    conf.write_text(f"[trustshim]\nstore = certifi\n[global]\ncert = {pki.ca_pem}\n")
    env = {"PIP_TRUSTSHIM": "on", "CURL_CA_BUNDLE": str(pki.other_ca_pem)}
    report = status_json(venv, home, env=env, config_file=str(conf))
    assert report["settings"]["enabled"] == {
        "value": "on",
        "source": "environment variable PIP_TRUSTSHIM",
    }
    assert report["settings"]["store"] == {"value": "certifi", "source": f"{conf} (env)"}
    assert report["pip_bundles"] == [
        {"path": str(pki.ca_pem), "source": f"{conf} (env)"},
        {"path": str(pki.other_ca_pem), "source": "environment variable CURL_CA_BUNDLE"},
    ]


def test_status_reports_a_bad_setting_and_exits_0(venv: Venv, home: Path) -> None:
    env = {"PIP_TRUSTSHIM": "1", "PIP_TRUSTSHIM_STORE": "/nowhere/ca.pem"}
    report = status_json(venv, home, env=env)
    assert report["shim"] == "on"
    assert report["error"] == (
        "pip-trustshim: trustshim.store = '/nowhere/ca.pem' (from environment variable "
        "PIP_TRUSTSHIM_STORE): neither 'system', 'certifi' nor an existing file or directory"
    )
    proc = script(venv, ["status"], home, env={"PIP_TRUSTSHIM": "sometimes"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(
        "pip-trustshim cannot tell whether it is on (see the error below)\n"
    )
    assert "  error: pip-trustshim: trustshim.enabled = 'sometimes'" in proc.stdout
    assert "hook active in this process: yes" in proc.stdout
    # a malformed table is not "none": the error says what is wrong with it
    proc = script(
        venv, ["status"], home, env={"PIP_TRUSTSHIM": "1", "PIP_TRUSTSHIM_HOST_CA": "*.0.1 /x"}
    )
    assert "  error: pip-trustshim: trustshim.host-ca = '*.0.1 /x'" in proc.stdout, proc.stdout
    assert "per-host entries: none" not in proc.stdout


# ------------------------------------------------------- enable / disable


def pip_config_get(venv: Venv, home: Path, key: str) -> subprocess.CompletedProcess[str]:
    no_config_file = ""  # no PIP_CONFIG_FILE: pip reads the user file
    return venv.pip(["config", "get", key], home, env=user_env(home), config_file=no_config_file)


def download(venv: Venv, home: Path, url: str) -> subprocess.CompletedProcess[str]:
    dest = home / "downloads"
    shutil.rmtree(dest, ignore_errors=True)
    command = ["download", "--no-deps", "--retries", "0", "-d", str(dest), "--index-url", url]
    no_config_file = ""  # no PIP_CONFIG_FILE: pip reads the user file
    return venv.pip([*command, "tinypkg"], home, env=user_env(home), config_file=no_config_file)


def user_cli(venv: Venv, home: Path, args: List[str]) -> subprocess.CompletedProcess[str]:
    """The CLI reading and writing the user file under HOME (PIP_CONFIG_FILE no_config_file)."""
    return cli(venv, args, home, env=user_env(home), config_file="")


def test_enable_disable_round_trip(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    user = home / ".config" / "pip" / "pip.conf"
    proc = user_cli(venv, home, ["enable", "--store", str(pki.ca_pem)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"wrote trustshim.store = {pki.ca_pem} to {user} (user)" in proc.stdout
    assert "pip-trustshim is now on for pip" in proc.stdout
    assert proc.stdout.endswith("\nrun `pip-trustshim check` to test it\n")
    assert pip_config_get(venv, home, "trustshim.enabled").stdout.strip() == "yes"
    assert pip_config_get(venv, home, "trustshim.store").stdout.strip() == str(pki.ca_pem)
    proc = download(venv, home, index.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (home / "downloads" / "tinypkg-1.0-py3-none-any.whl").is_file()

    proc = user_cli(venv, home, ["disable"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"removed trustshim.enabled from {user} (user)" in proc.stdout
    assert proc.stdout.endswith(DISABLE_NOTE.format(who="every environment of this user"))
    assert pip_config_get(venv, home, "trustshim.enabled").returncode != 0
    assert pip_config_get(venv, home, "trustshim.store").stdout.strip() == str(pki.ca_pem)
    proc = download(venv, home, index.url)
    assert proc.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in proc.stdout + proc.stderr
    proc = user_cli(venv, home, ["disable"])
    assert proc.returncode == 0 and "nothing to remove" in proc.stdout


def test_enable_extra_ca_with_certifi(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    proc = user_cli(venv, home, ["enable", "--store", "certifi", "--extra-ca", str(pki.ca_pem)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert pip_config_get(venv, home, "trustshim.extra-ca").stdout.strip() == str(pki.ca_pem)
    proc = download(venv, home, index.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = user_cli(venv, home, ["check", index.url])
    assert proc.returncode == 0 and proc.stdout.startswith("pip-trustshim is on\n"), proc.stdout


DISABLE_NOTE = (
    "note: {who} reads this file: the shim is now off in all of them, unless another "
    "setting switches it on there (to switch it off in one environment only, set "
    "PIP_TRUSTSHIM=0 there)\n"
)


@pytest.mark.parametrize("typed, meant", [("sytem", "system"), ("Certifi", "certifi")])
def test_enable_suggests_the_store_word_meant(
    venv: Venv, home: Path, typed: str, meant: str
) -> None:
    """A mistyped word is shown as typed (not as a path made absolute), with a suggestion."""
    proc = user_cli(venv, home, ["enable", "--store", typed])
    assert one_error_line(proc, 2) == (
        f"pip-trustshim: trustshim.store = '{typed}' (from --store): neither 'system', "
        f"'certifi' nor an existing file or directory; did you mean '{meant}'?"
    )
    # the same word in a setting: pip and status say it too
    report = status_json(venv, home, env={"PIP_TRUSTSHIM_STORE": typed})
    assert report["error"].endswith(f"; did you mean '{meant}'?")
    assert not (home / ".config").exists()


def test_disable_removes_the_section_it_emptied(venv: Venv, home: Path) -> None:
    user = home / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    original = "# IT's settings\n[global]\ntimeout = 60\n"
    user.write_text(original)
    assert user_cli(venv, home, ["enable"]).returncode == 0
    assert user.read_text() == original + "[trustshim]\nenabled = yes\n"
    proc = user_cli(venv, home, ["disable"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(
        f"removed trustshim.enabled and the [trustshim] section it left empty from {user} (user)\n"
    )
    assert user.read_text() == original
    # a section with a comment in it stays, comment and all
    user.write_text(original + "[trustshim]\n# for the corp proxy\nenabled = yes\n")
    proc = user_cli(venv, home, ["disable"])
    assert f"removed trustshim.enabled from {user} (user)\n" in proc.stdout
    assert user.read_text() == original + "[trustshim]\n# for the corp proxy\n"


def test_disable_warns_that_the_user_level_reaches_every_environment(
    venv: Venv, home: Path
) -> None:
    proc = cli(venv, ["disable", "--help"], home)
    assert proc.returncode == 0, proc.stderr
    assert "the user file (the default) is read by every environment of\nthis user" in proc.stdout
    assert "For one environment only, set PIP_TRUSTSHIM=0 there." in proc.stdout
    # the note itself: test_enable_disable_round_trip (user), test_enable_site_level (none)


def test_enable_refuses_a_bad_store_or_ca(venv: Venv, home: Path, tmp_path: Path) -> None:
    user = home / ".config" / "pip" / "pip.conf"
    missing = tmp_path / "missing.pem"
    proc = user_cli(venv, home, ["enable", "--store", str(missing)])
    line = one_error_line(proc, 2)
    assert line == (
        f"pip-trustshim: trustshim.store = '{missing}' (from --store): "
        "neither 'system', 'certifi' nor an existing file or directory"
    )
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    proc = user_cli(venv, home, ["enable", "--extra-ca", str(empty)])
    one_error_line(
        proc, 2, f"trustshim.extra-ca = '{empty}' (from --extra-ca)", "no PEM certificate"
    )
    assert not user.exists()


def test_enable_refuses_a_path_that_would_not_read_back(
    venv: Venv, home: Path, tmp_path: Path, pki: Pki
) -> None:
    """A ``:`` in a path would be split into two paths pip-trustshim never checked."""
    user = home / ".config" / "pip" / "pip.conf"
    (tmp_path / "a").mkdir()
    odd = tmp_path / "a:b.pem"
    odd.write_bytes(pki.ca_pem.read_bytes())
    proc = user_cli(venv, home, ["enable", "--extra-ca", str(odd)])
    one_error_line(proc, 2, f"'{odd}' cannot be written", "extra-ca is split on ':'")
    assert not user.exists()
    # A relative path is written absolute, as pip would later resolve it from here.
    (tmp_path / "corp.pem").write_bytes(pki.ca_pem.read_bytes())
    args = ["enable", "--extra-ca", "corp.pem"]
    proc = cli(venv, args, home, env=user_env(home), config_file="", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = pip_config_get(venv, home, "trustshim.extra-ca").stdout.strip()
    assert written == str(tmp_path / "corp.pem")


USER_FILE = """\
# Written by IT. Do not remove the timeout.
[global]
timeout = 60
# find-links = /opt/wheels

[trustshim]
# switched on for the corp proxy
enabled = no
store = certifi

[install]
; keep this
"""


def test_enable_disable_keep_the_rest_of_the_file(venv: Venv, home: Path, pki: Pki) -> None:
    """Comments and every line not written stay byte for byte; a symlink's target is edited."""
    target = home / "dotfiles" / "pip.conf"
    target.parent.mkdir()
    target.write_text(USER_FILE)
    target.chmod(0o600)
    user = home / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.symlink_to(target)
    proc = user_cli(venv, home, ["enable", "--extra-ca", str(pki.ca_pem)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{user} is a symbolic link: edited its target, {target}" in proc.stdout
    assert user.is_symlink() and oct(target.stat().st_mode & 0o777) == "0o600"
    enabled = USER_FILE.replace(
        "enabled = no\nstore = certifi\n", "enabled = yes\nstore = certifi\n"
    )
    assert target.read_text() == enabled.replace(
        "store = certifi\n", f"store = certifi\nextra-ca = {pki.ca_pem}\n"
    )
    proc = user_cli(venv, home, ["disable"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert target.read_text() == USER_FILE.replace("enabled = no\n", "").replace(
        "store = certifi\n", f"store = certifi\nextra-ca = {pki.ca_pem}\n"
    )


def test_a_failed_write_leaves_the_file_whole(venv: Venv, home: Path) -> None:
    """A full disk (here: a file size limit) mid-write: the old file stays, nothing is left."""
    user = home / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.write_text("# padding\n" * 400 + USER_FILE)
    before = user.read_bytes()
    limit = "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))"
    code = f"import resource, runpy, sys; {limit}; sys.argv = ['pip-trustshim', 'enable']; "
    code += "runpy.run_module('pip_trustshim', run_name='__main__')"
    proc = venv.run(["-c", code], home, env=user_env(home), config_file="")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("pip-trustshim: nothing written:"), line
    assert user.read_bytes() == before
    # no temporary file left; the lock file stays (tests/test_lock.py)
    assert sorted(p.name for p in user.parent.iterdir()) == [".pip.conf.lock", "pip.conf"]


def test_enable_warns_when_overridden(venv: Venv, home: Path, pki: Pki) -> None:
    env = {**user_env(home), "PIP_TRUSTSHIM": "0"}
    proc = cli(venv, ["enable"], home, env=env, config_file="")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "wrote trustshim.enabled = yes" in proc.stdout
    assert (
        "warning: pip still sees trustshim.enabled = '0' (from environment variable PIP_TRUSTSHIM)"
        in proc.stderr
    )
    env["PIP_TRUSTSHIM"] = "1"
    proc = cli(venv, ["disable"], home, env=env, config_file="")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "still sees trustshim.enabled = '1'" in proc.stderr
    # a setting pip would stop on, from elsewhere: written, and the stop said
    env["PIP_TRUSTSHIM_STORE"] = "/nowhere/ca.pem"
    proc = cli(venv, ["enable"], home, env=env, config_file="")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "wrote trustshim.enabled = yes" in proc.stdout
    stop = "warning: pip will now stop with: pip-trustshim: trustshim.store = '/nowhere/ca.pem'"
    assert stop in proc.stderr, proc.stderr


def test_enable_site_level(
    project_wheel: Path, home: Path, index: TlsIndex, pki: Pki, tmp_path: Path
) -> None:
    """--site writes the venv's own pip.conf (a private venv: the cached ones are shared)."""
    venv = fresh_venv(tmp_path / "venv", "3.13", "26.3", project_wheel)
    site = venv.path / "pip.conf"
    no_config_file = ""  # no PIP_CONFIG_FILE: pip reads the user and site files
    env = user_env(home)
    proc = cli(venv, ["enable", "--site", "--store", str(pki.ca_pem)], home, env, no_config_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"to {site} (site)" in proc.stdout
    got = venv.pip(["config", "--site", "get", "trustshim.store"], home, env, no_config_file)
    assert got.stdout.strip() == str(pki.ca_pem), got.stderr
    dest = home / "downloads"
    command = ["download", "--no-deps", "--retries", "0", "-d", str(dest), "--index-url", index.url]
    proc = venv.pip([*command, "tinypkg"], home, env, no_config_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = cli(venv, ["disable", "--site"], home, env, no_config_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "enabled" not in site.read_text()
    assert "note:" not in proc.stdout  # the site file is this environment's alone


def test_writing_is_refused_when_pip_reads_no_file(venv: Venv, home: Path) -> None:
    proc = cli(venv, ["enable"], home)  # the scrubbed PIP_CONFIG_FILE=/dev/null
    line = one_error_line(proc, 2, "PIP_CONFIG_FILE='/dev/null'", "PIP_TRUSTSHIM=1")
    assert "[trustshim]" not in line  # no advice to edit a file pip does not read
