"""End to end: what configuration management and fleet probes rely on (docs/fleets.md).

The installed ``pip-trustshim`` console script in real venvs (pip 23.2.1 /
CPython 3.11, pip 26.3 / CPython 3.13; every pair under ``-m matrix``):
eight writers at once on one pip.conf lose no update; ``enable`` and
``disable`` say whether they changed anything (``--json``), change nothing
the second time, and ``--dry-run`` prints the exact diff and writes nothing;
``status --json`` and ``enable``/``disable --json`` match their schemas in
docs/schemas/, and docs/cli.md lists exactly their keys.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from lib.pki import Pki
from lib.schemas import documented_keys, load, validate
from lib.venvs import Venv, scrubbed_env, without_machine_config

#: per (CPython, pip) pair: 20 rounds in the default run of two pairs
ROUNDS = 10
ORIGINAL = """\
# Written by IT. Do not remove the timeout.
[global]
timeout = 60
# find-links = /opt/wheels
"""


def user_env(home: Path) -> Dict[str, str]:
    """XDG dirs under HOME, so the global and user files are the test's own."""
    return {"XDG_CONFIG_DIRS": str(home / "xdg"), "XDG_CONFIG_HOME": str(home / ".config")}


def user_file(home: Path) -> Path:
    return home / ".config" / "pip" / "pip.conf"


def command(venv: Venv, home: Path, args: List[str], env: Optional[Dict[str, str]] = None) -> Any:
    """``[pip-trustshim *args]`` ready to run: the console script, its scrubbed environment."""
    no_config_file = ""  # no PIP_CONFIG_FILE: pip reads the user file under HOME
    environment = scrubbed_env(venv.bin, home, no_config_file, {**user_env(home), **(env or {})})
    argv = without_machine_config([str(venv.bin / "pip-trustshim"), *args], no_config_file)
    return argv, environment


def run(
    venv: Venv, home: Path, args: List[str], env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    argv, environment = command(venv, home, args, env)
    return subprocess.run(
        argv,
        env=environment,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )


def run_json(
    venv: Venv, home: Path, args: List[str], code: int = 0, env: Optional[Dict[str, str]] = None
) -> Dict[str, Any]:
    """Run with ``--json``: exit status ``code``, one object valid for the configure schema."""
    proc = run(venv, home, [*args, "--json"], env)
    assert proc.returncode == code, proc.stdout + proc.stderr
    document: Dict[str, Any] = json.loads(proc.stdout)
    validate(document, "configure")
    return document


def stamp(path: Path) -> Tuple[int, int, bytes]:
    """What a rewrite would change: the inode (a rename), the mtime, the bytes."""
    status = path.stat()
    return status.st_ino, status.st_mtime_ns, path.read_bytes()


def read_conf(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read_string(path.read_text())
    return parser


# ------------------------------------------------------------ no lost update


def test_eight_writers_at_once_lose_no_update(
    venv: Venv, home: Path, pki: Pki, tmp_path: Path
) -> None:
    """Eight processes edit one pip.conf at once, ``ROUNDS`` times; every change survives.

    Four are ``pip-trustshim enable``, each setting its own key of the four it
    can set besides ``enabled``. ``enable`` has no more keys to give, so the
    other four are processes of the same venv that set a key of their own in
    another section through the installed package's editor, the code path
    ``enable`` writes through, lock included.
    """
    conf = user_file(home)
    client = pki.client_cert_pem()
    host = "pypi.corp.example"
    enables = {
        "store": ["enable", "--store", "certifi", "--json"],
        "extra-ca": ["enable", "--extra-ca", str(pki.ca_pem), "--json"],
        "host-ca": ["enable", "--host-ca", f"{host}={pki.other_ca_pem}", "--json"],
        "host-client-cert": ["enable", "--host-client-cert", f"{host}={client}", "--json"],
    }
    editors = {
        f"writer-{n}": f"from pip_trustshim import conffile; "
        f"conffile.edit_section({str(conf)!r}, 'fleet-test', {{'writer-{n}': '{n}'}})"
        for n in range(4)
    }
    for round_number in range(ROUNDS):
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(ORIGINAL)
        processes = []
        for args in enables.values():
            argv, environment = command(venv, home, args)
            processes.append(subprocess.Popen(argv, env=environment, cwd=home, **PIPES))
        for code in editors.values():
            argv, environment = command(venv, home, [])
            argv = [str(venv.python), "-c", code]
            processes.append(subprocess.Popen(argv, env=environment, cwd=home, **PIPES))
        outputs = [process.communicate(timeout=180) for process in processes]
        for process, (out, err) in zip(processes, outputs):
            assert process.returncode == 0, (round_number, out, err)
        for out, _ in outputs[: len(enables)]:
            assert json.loads(out)["changed"] is True, out  # each wrote its own key

        parser = read_conf(conf)
        where = f"round {round_number}: {conf.read_text()}"
        assert dict(parser.items("trustshim")) == {
            "enabled": "yes",
            "store": "certifi",
            "extra-ca": str(pki.ca_pem),
            "host-ca": f"pypi.corp.example {pki.other_ca_pem}",
            "host-client-cert": f"pypi.corp.example {client}",
        }, where
        assert dict(parser.items("fleet-test")) == {name: name[-1] for name in editors}, where
        assert conf.read_text().startswith(ORIGINAL), where
        assert sorted(os.listdir(conf.parent)) == [".pip.conf.lock", "pip.conf"], where
        conf.unlink()


PIPES: Dict[str, Any] = {
    "stdout": subprocess.PIPE,
    "stderr": subprocess.PIPE,
    "stdin": subprocess.DEVNULL,
    "text": True,
}


# ------------------------------------------------ changed, idempotence, dry run


def test_enable_twice_changes_nothing_the_second_time(venv: Venv, home: Path, pki: Pki) -> None:
    conf = user_file(home)
    conf.parent.mkdir(parents=True)
    conf.write_text(ORIGINAL)
    args = ["enable", "--store", "certifi", "--extra-ca", str(pki.ca_pem)]
    first = run_json(venv, home, args)
    assert first["changed"] is True and first["dry_run"] is False
    assert first["file"] == str(conf) and first["level"] == "user" and first["link"] is None
    assert first["values"] == {"enabled": "yes", "store": "certifi", "extra-ca": str(pki.ca_pem)}
    assert first["shim"] == "on" and first["warnings"] == []
    assert first["diff"].startswith(f"--- {conf}\n+++ {conf}\n@@ ")
    assert "+[trustshim]\n+enabled = yes\n+store = certifi\n" in first["diff"]
    before = stamp(conf)

    second = run_json(venv, home, args)
    assert second["changed"] is False and second["diff"] == ""
    assert second["shim"] == "on"
    assert stamp(conf) == before  # not rewritten: same inode, same mtime, same bytes

    proc = run(venv, home, args)  # the text form says so too, with the same exit status
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == (
        f"trustshim.enabled = yes is already set in {conf} (user)\n"
        f"trustshim.store = certifi is already set in {conf} (user)\n"
        f"trustshim.extra-ca = {pki.ca_pem} is already set in {conf} (user)\n"
        "pip-trustshim is now on for pip (store: certifi)\n"
        "run `pip-trustshim check` to test it\n"
    )
    assert stamp(conf) == before

    # one key changed: written, said per key
    proc = run(venv, home, ["enable", "--store", "system", "--extra-ca", str(pki.ca_pem)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"trustshim.enabled = yes is already set in {conf} (user)\n" in proc.stdout
    assert f"wrote trustshim.store = system to {conf} (user)\n" in proc.stdout


def test_disable_says_whether_it_changed_anything(venv: Venv, home: Path) -> None:
    conf = user_file(home)
    first = run_json(venv, home, ["disable"])  # no file at all
    assert first["changed"] is False and first["values"] == {"enabled": None}
    assert first["shim"] == "off" and not conf.exists()
    run_json(venv, home, ["enable"])
    second = run_json(venv, home, ["disable"])
    assert second["changed"] is True and second["command"] == "disable"
    removed = "@@ -1,2 +0,0 @@\n-[trustshim]\n-enabled = yes\n"  # the emptied section too
    assert second["diff"] == f"--- {conf}\n+++ {conf}\n{removed}"
    before = stamp(conf)
    third = run_json(venv, home, ["disable"])
    assert third["changed"] is False and stamp(conf) == before


def test_dry_run_prints_the_exact_diff_and_writes_nothing(
    venv: Venv, home: Path, pki: Pki, tmp_path: Path
) -> None:
    conf = user_file(home)
    conf.parent.mkdir(parents=True)
    conf.write_text(ORIGINAL + "[trustshim]\nenabled = no\n")
    before = stamp(conf)
    args = ["enable", "--store", "certifi", "--host-ca", f"a.example={pki.ca_pem}"]
    proc = run(venv, home, [*args, "--dry-run"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == (
        f"--- {conf}\n"
        f"+++ {conf}\n"
        "@@ -3,4 +3,6 @@\n"
        " timeout = 60\n"
        " # find-links = /opt/wheels\n"
        " [trustshim]\n"
        "-enabled = no\n"
        "+enabled = yes\n"
        "+store = certifi\n"
        f"+host-ca = a.example {pki.ca_pem}\n"
    )
    assert proc.stderr == f"dry run: {conf} (user) would change; nothing written\n"
    assert stamp(conf) == before
    assert os.listdir(conf.parent) == ["pip.conf"]  # not even the lock file

    as_json = run_json(venv, home, [*args, "--dry-run"])
    assert as_json["changed"] is True and as_json["dry_run"] is True
    assert as_json["diff"] == proc.stdout and as_json["shim"] is None
    assert stamp(conf) == before

    # the diff is exact: patch(1) applied to a copy makes what enable then writes
    if shutil.which("patch"):
        copy = tmp_path / "copy.conf"
        copy.write_bytes(conf.read_bytes())
        patched = subprocess.run(
            ["patch", "--batch", "--silent", str(copy)],
            input=proc.stdout,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert patched.returncode == 0, patched.stdout + patched.stderr
    real = run(venv, home, args)
    assert real.returncode == 0, real.stdout + real.stderr
    if shutil.which("patch"):
        assert copy.read_bytes() == conf.read_bytes()

    nothing = run(venv, home, [*args, "--dry-run"])
    assert nothing.returncode == 0 and nothing.stdout == ""
    assert nothing.stderr == f"dry run: {conf} (user) would not change; nothing written\n"


def test_dry_run_shows_control_characters_escaped(venv: Venv, home: Path) -> None:
    """The text diff escapes them (the terminal would obey them); --json keeps them exact."""
    conf = user_file(home)
    conf.parent.mkdir(parents=True)
    conf.write_text("# \x1b[2J a comment that clears the screen\n[global]\ntimeout = 60\n")
    proc = run(venv, home, ["enable", "--dry-run"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout
    assert " # \\x1b[2J a comment that clears the screen\n" in proc.stdout
    document = run_json(venv, home, ["enable", "--dry-run"])
    assert " # \x1b[2J a comment that clears the screen\n" in document["diff"]


def test_dry_run_refuses_a_bad_value(venv: Venv, home: Path, tmp_path: Path) -> None:
    proc = run(venv, home, ["enable", "--store", str(tmp_path / "nope.pem"), "--dry-run", "--json"])
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout + proc.stderr
    assert proc.stderr.startswith("pip-trustshim: trustshim.store = ")
    assert not user_file(home).parent.exists()


def test_json_when_pip_still_sees_something_else(venv: Venv, home: Path) -> None:
    """Exit status 1 with --json: written (changed), and the warning in the object too."""
    document = run_json(venv, home, ["enable"], code=1, env={"PIP_TRUSTSHIM": "0"})
    assert document["changed"] is True and document["shim"] == "off"
    assert document["warnings"] == [
        "pip still sees trustshim.enabled = '0' (from environment variable PIP_TRUSTSHIM)"
    ]


# ------------------------------------------------------------------ probes


def test_status_json_matches_its_schema(venv: Venv, home: Path, pki: Pki) -> None:
    """Off and default; on with every kind of setting; a bad setting; a damaged install."""
    states = [
        {},
        {
            "PIP_TRUSTSHIM": "1",
            "PIP_TRUSTSHIM_STORE": "certifi",
            "PIP_TRUSTSHIM_EXTRA_CA": str(pki.ca_pem),
            "PIP_TRUSTSHIM_HOST_CA": f"*.corp.example {pki.ca_pem}",
            "PIP_TRUSTSHIM_HOST_CLIENT_CERT": f"pypi.corp.example {pki.client_cert_pem()}",
            "PIP_CERT": str(pki.other_ca_pem),
        },
        {"PIP_TRUSTSHIM": "1", "PIP_TRUSTSHIM_STORE": "/nowhere/ca.pem"},
        {"PIP_TRUSTSHIM": "sometimes"},
    ]
    seen = set()
    for env in states:
        proc = run(venv, home, ["status", "--json"], env)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        validate(report, "status")
        assert report["schema"] == 1
        seen.add(report["shim"])
        if env.get("PIP_TRUSTSHIM_HOST_CA"):
            assert len(report["hosts"]) == 2 and report["pip_bundles"] and report["extra_ca"]
    assert seen == {"on", "off", "error"}
    # python -S: the hook inactive, the package found through PYTHONPATH
    path = {"PYTHONPATH": str(venv.site_packages())}
    proc = venv.run(["-S", "-m", "pip_trustshim", "status", "--json"], home, env=path)
    assert proc.returncode == 0, proc.stderr
    validate(json.loads(proc.stdout), "status")


def test_the_schema_rejects_what_it_does_not_list() -> None:
    """The schemas are strict, so an undocumented key fails the tests above."""
    with pytest.raises(AssertionError, match="'surprise' was unexpected"):
        validate({**minimal_status(), "surprise": 1}, "status")
    with pytest.raises(AssertionError, match="schema: 1 was expected"):
        validate({**minimal_status(), "schema": 2}, "status")
    validate(minimal_status(), "status")


def minimal_status() -> Dict[str, Any]:
    return {
        "schema": 1,
        "shim": "error",
        "error": "pip-trustshim: cannot read it",
        "settings": {},
        "extra_ca": [],
        "hosts": [],
        "pip_bundles": [],
        "warnings": [],
        "versions": {
            "python": "3.11.7",
            "pip": None,
            "truststore": None,
            "certifi": None,
            "pip-trustshim": "0.2.0",
        },
        "python": "/usr/bin/python3",
        "hook": {"pth": None, "boot": None, "problems": [], "active": False},
    }


@pytest.mark.parametrize(
    ("schema", "heading"),
    [("status", "status --json"), ("configure", "enable --json and disable --json")],
)
def test_the_docs_list_every_key_of_the_schema(schema: str, heading: str) -> None:
    assert documented_keys(heading) == set(load(schema)["properties"])
