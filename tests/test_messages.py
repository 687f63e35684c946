"""End to end: what the command line and ``pip -v`` say, and that it is safe to print.

docs/security.md: a path holding ESC, CR, DEL, a bidi override or a line
separator is written as ``\\x1b``, ``\\r``... by ``status``, ``pip -v``, the
one-line errors and ``enable``, while letters of other scripts stay readable;
``status --json`` stays valid JSON with the exact path. docs/cli.md:
``--version``, each command's own exit statuses in its ``--help``, and the
warnings (an unknown setting name, a CA out of date) of ``status``, ``pip
-v`` and ``enable``. Real pip in real venvs, against the loopback TLS index.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import List

from cryptography import x509

from lib.pki import Pki, dated_ca_pem
from lib.running import assert_downloaded, cli, download, shim, write_config
from lib.servers import TlsIndex
from lib.venvs import Venv, scrubbed_env

#: a file name with terminal controls in it (ESC sequences, CR, a right-to-left
#: override, a line separator, DEL), and a letter that must stay as it is
NASTY = "ca \x1b[31mred\x1b[0m\r\u202eevil\u2028 \x7f é.pem"
#: the same name as every output must show it
SHOWN = r"ca \x1b[31mred\x1b[0m\r\u202eevil\u2028 \x7f é.pem"


def raw_controls(text: str) -> List[str]:
    """The characters in ``text`` that a terminal would act on (newlines aside)."""
    return sorted({char for line in text.split("\n") for char in line if not char.isprintable()})


def nasty_copy(home: Path, pki: Pki, name: str = NASTY) -> Path:
    """The corp CA, copied to a file called ``name``."""
    path = home / name
    shutil.copyfile(pki.ca_pem, path)
    return path


def test_status_escapes_a_path(venv: Venv, home: Path, pki: Pki) -> None:
    path = nasty_copy(home, pki)
    entry = nasty_copy(home, pki, "entry " + NASTY)
    env = shim(
        str(pki.ca_pem),
        PIP_TRUSTSHIM_EXTRA_CA=str(path),
        PIP_TRUSTSHIM_HOST_CA=f"pypi.corp.test {entry}",
    )
    proc = cli(venv, ["status"], home, env=env)
    assert proc.returncode == 0, proc.stderr
    assert raw_controls(proc.stdout) == [], proc.stdout
    assert f"  extra CA file: {home}/{SHOWN}\n" in proc.stdout
    assert f"  extra-ca:  {home}/{SHOWN}  [environment variable" in proc.stdout
    assert f"pypi.corp.test -> {home}/entry {SHOWN}" in proc.stdout, proc.stdout
    # --json: valid JSON (its own escapes), holding the path exactly as it is.
    proc = cli(venv, ["status", "--json"], home, env=env)
    assert proc.returncode == 0 and raw_controls(proc.stdout) == [], proc.stdout
    report = json.loads(proc.stdout)
    assert report["extra_ca"] == [str(path)]
    assert report["settings"]["extra-ca"]["value"] == str(path)
    assert [(h["setting"], h["path"]) for h in report["hosts"]] == [("host-ca", str(entry))]


def test_pip_v_escapes_a_path(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    path = nasty_copy(home, pki)
    entry = nasty_copy(home, pki, "entry " + NASTY)
    env = shim(
        str(path),
        PIP_TRUSTSHIM_EXTRA_CA=str(path),
        PIP_TRUSTSHIM_HOST_CA=f"localhost:{index.port} {entry}",
    )
    proc = download(venv, home, index.url, env=env, args=["-v"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert raw_controls(out) == [], out
    assert f"  store: {home}/{SHOWN} (from environment variable PIP_TRUSTSHIM_STORE)" in out
    assert f"  extra CA: {home}/{SHOWN} (from environment variable" in out
    assert f"  host-ca: localhost:{index.port} -> {home}/entry {SHOWN} (from environment" in out


def test_an_error_line_escapes_its_source_and_value(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """The configuration file's name (the source) and the value, each with controls
    (no CR in the value: a pip.conf line ends at a CR)."""
    value, shown = NASTY.replace("\r", ""), SHOWN.replace("\\r", "")
    conf = write_config(home / NASTY, enabled="yes", store=f"/nowhere/{value}")
    proc = download(venv, home, index.url, config_file=str(conf))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert raw_controls(proc.stdout + proc.stderr) == [], proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if "pip-trustshim:" in line]
    assert f"trustshim.store = '/nowhere/{shown}' (from {home}/{SHOWN} (env)" in line, line
    assert index.connections == 0
    status = cli(venv, ["status"], home, config_file=str(conf))
    assert status.returncode == 0 and raw_controls(status.stdout) == [], status.stdout
    assert f"  error: {line[line.index('pip-trustshim:') :]}\n" in status.stdout


def test_export_escapes_a_path(venv: Venv, home: Path, pki: Pki) -> None:
    """The bundle's comment lines (ASCII only: é as ``\\xe9``), and what ``-v`` and
    ``-o`` say on stderr, name the store's path with its controls escaped."""
    path = nasty_copy(home, pki)
    out = home / "out" / NASTY
    out.parent.mkdir()
    proc = cli(venv, ["export", "-v"], home, env=shim(str(path)))
    assert proc.returncode == 0, proc.stderr
    assert raw_controls(proc.stdout) == [] and proc.stdout.isascii(), proc.stdout
    source = "trustshim.store (environment variable PIP_TRUSTSHIM_STORE)"
    ascii_shown = SHOWN.replace("é", "\\xe9")
    assert f"\n#   {source}: {home}/{ascii_shown}\n" in proc.stdout, proc.stdout
    assert proc.stderr == f"{source}: {home}/{SHOWN}: 1 certificate\n", proc.stderr
    proc = cli(venv, ["export", "-o", str(out)], home, env=shim(str(path)))
    assert proc.returncode == 0 and raw_controls(proc.stderr) == [], proc.stderr
    assert proc.stderr == f"wrote 1 certificate to {home}/out/{SHOWN}\n"
    assert out.read_text().count("-----BEGIN CERTIFICATE-----") == 1


def test_enable_escapes_what_it_wrote(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    # No CR here: a pip.conf line ends at a CR, so no such path can be written to one.
    name = NASTY.replace("\r", "")
    path = nasty_copy(home, pki, name)
    env = {"XDG_CONFIG_DIRS": str(home / "xdg"), "XDG_CONFIG_HOME": str(home / ".config")}
    proc = cli(venv, ["enable", "--store", str(path)], home, env=env, config_file="")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert raw_controls(proc.stdout + proc.stderr) == [], proc.stdout
    shown = SHOWN.replace("\\r", "")
    assert f"wrote trustshim.store = {home}/{shown} to " in proc.stdout
    assert f"pip-trustshim is now on for pip (store: {home}/{shown})" in proc.stdout
    proc = download(venv, home, index.url, config_file="", env=env)
    assert_downloaded(proc, home)


# ------------------------------------------------------------- --version, --help


def test_version(venv: Venv, home: Path) -> None:
    code = "import importlib.metadata as m; print(m.version('pip-trustshim'))"
    version = venv.run(["-c", code], home).stdout.strip()
    python = venv.python_version
    expected = (
        f"pip-trustshim {version} from {venv.site_packages()}/pip_trustshim (python {python})"
    )
    for command in ([str(venv.bin / "pip-trustshim")], [str(venv.python), "-m", "pip_trustshim"]):
        proc = subprocess.run(
            [*command, "--version"],
            env=scrubbed_env(venv.bin, home),
            cwd=home,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, expected + "\n", "")


#: command -> (lines its --help lists under "exit status:", phrases it must not list)
OWN_STATUSES = {
    "status": (["0  done, whatever the settings say"], ["URL", "written", "installed"]),
    "check": (
        [
            "0  pip would get through to every index and file checked",
            "1  a request failed, or no index lists --package NAME",
            "2  a bad option, URL or setting",
        ],
        [],
    ),
    "enable": (["0  pip now sees what was asked", "1  written, but pip still sees"], ["URL"]),
    "disable": (["0  pip now runs without the shim", "1  written, but the shim is still on"], []),
    "export": (["0  the bundle was written", "1  its reader went away"], ["URL"]),
    "seed": (["0  installed", "2  a bad option or TARGET"], ["URL", "1  "]),
}


def test_each_help_lists_its_own_exit_statuses(venv: Venv, home: Path) -> None:
    for command, (own, others) in OWN_STATUSES.items():
        proc = cli(venv, [command, "--help"], home)
        assert proc.returncode == 0, proc.stderr
        statuses = proc.stdout[proc.stdout.index("exit status:") :]
        for line in [*own, "3  internal error (please report it)", "Ctrl-C: 1"]:
            assert line in statuses, (command, statuses)
        for phrase in others:
            assert phrase not in statuses, (command, statuses)
    top = cli(venv, ["--help"], home).stdout
    assert "Each command's --help lists its own" in " ".join(top.split())


# --------------------------------------------------------------------- warnings


def test_unknown_setting_names_are_warned_about(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """pip ignores an unknown key or variable; the shim says what it may have meant."""
    conf = home / "pip.conf"
    conf.write_text(f"[trustshim]\nenable = yes\nstor = certifi\nextra_ca = {pki.ca_pem}\n")
    env = shim(str(pki.ca_pem), PIP_TRUSTSHIM_STOR="certifi", PIP_TRUSTSHIM_ENABLE="1")
    env["PIP_TRUSTSHIM_NOTHING_LIKE_IT"] = "1"
    where = f"[trustshim] of {conf} (env)"
    expected = [
        f"unknown key 'enable' in {where}, ignored; did you mean 'enabled'?",
        f"unknown key 'stor' in {where}, ignored; did you mean 'store'?",
        "unknown environment variable PIP_TRUSTSHIM_ENABLE, ignored; did you mean 'PIP_TRUSTSHIM'?",
        "unknown environment variable PIP_TRUSTSHIM_NOTHING_LIKE_IT, ignored",
        "unknown environment variable PIP_TRUSTSHIM_STOR, ignored; "
        "did you mean 'PIP_TRUSTSHIM_STORE'?",
    ]
    # (This machine's /etc/pip.conf, which pip always reads, may add warnings of its own.)
    report = json.loads(cli(venv, ["status", "--json"], home, env, str(conf)).stdout)
    assert [warning for warning in report["warnings"] if "unknown" in warning] == expected
    text = cli(venv, ["status"], home, env, str(conf)).stdout
    assert [line for line in text.splitlines() if "warning: unknown" in line] == [
        f"  warning: {warning}" for warning in expected
    ]
    proc = download(venv, home, index.url, env=env, args=["-v"], config_file=str(conf))
    assert_downloaded(proc, home)
    logged = [line.strip() for line in (proc.stdout + proc.stderr).splitlines()]
    assert all(f"warning: {warning}" in logged for warning in expected), logged
    # Only names that are no setting: every real one, in either spelling, is quiet.
    conf.write_text(f"[trustshim]\nenabled = yes\nstore = certifi\nextra-ca = {pki.ca_pem}\n")
    report = json.loads(cli(venv, ["status", "--json"], home, shim("certifi"), str(conf)).stdout)
    assert [warning for warning in report["warnings"] if "unknown" in warning] == []


def day(path: Path, attribute: str) -> str:
    """A certificate's not-before or not-after date, as the warnings show it."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return getattr(cert, attribute).strftime("%Y-%m-%d %H:%M UTC")


def test_a_ca_out_of_date_is_warned_about(venv: Venv, home: Path, pki: Pki) -> None:
    """In every bundle the settings or pip's options name, each file read once."""
    old = dated_ca_pem(home / "old.pem", "Old CA", -400, 30)
    older = dated_ca_pem(home / "older.pem", "Older CA", -800, 30)
    early = dated_ca_pem(home / "early.pem", "Early CA", 30, 365)
    both = home / "both.pem"  # two old roots in one bundle: one line for the bundle
    both.write_bytes(old.read_bytes() + pki.ca_pem.read_bytes() + older.read_bytes())
    env = shim(
        str(early),
        PIP_TRUSTSHIM_EXTRA_CA=f"{old}:{pki.ca_pem}:{both}",
        PIP_TRUSTSHIM_HOST_CA=f"a.test {old}; *.b.test {old}; c.test {pki.ca_pem}",
        PIP_CERT=str(older),
    )
    expired = "expired on {}: a chain that ends in it is refused"
    expected = [
        f"{early} (trustshim.store, environment variable PIP_TRUSTSHIM_STORE): the CA "
        f"certificate 'CN=Early CA' is not valid until {day(early, 'not_valid_before_utc')}: "
        "a chain that ends in it is refused",
        f"{old} (trustshim.extra-ca, environment variable PIP_TRUSTSHIM_EXTRA_CA and 2 more): "
        f"the CA certificate 'CN=Old CA' " + expired.format(day(old, "not_valid_after_utc")),
        f"{both} (trustshim.extra-ca, environment variable PIP_TRUSTSHIM_EXTRA_CA): 2 CA "
        "certificates are out of date, the first: the CA certificate 'CN=Old CA' "
        + expired.format(day(old, "not_valid_after_utc")),
        f"{older} (pip's CA bundle, environment variable PIP_CERT): the CA certificate "
        f"'CN=Older CA' " + expired.format(day(older, "not_valid_after_utc")),
    ]
    report = json.loads(cli(venv, ["status", "--json"], home, env).stdout)
    assert report["warnings"] == expected
    text = cli(venv, ["status"], home, env).stdout
    assert [line for line in text.splitlines() if "warning:" in line] == [
        f"  warning: {warning}" for warning in expected
    ]
    # enable says so too (and still writes: a warning, not a refusal).
    user = {"XDG_CONFIG_DIRS": str(home / "xdg"), "XDG_CONFIG_HOME": str(home / ".config")}
    proc = cli(venv, ["enable", "--store", str(old)], home, env=user, config_file="")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"warning: {old} (trustshim.store, {home}/.config/pip/pip.conf (user)): " in proc.stderr
    assert "the CA certificate 'CN=Old CA' expired on " in proc.stderr
