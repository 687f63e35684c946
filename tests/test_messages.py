"""End to end: what the command line and ``pip -v`` say, and that it is safe to print.

docs/security.md "Every string from the user is escaped": a path holding ESC,
CR, DEL, a bidi override or a line separator is written as ``\\x1b``, ``\\r``...
by ``status``, ``pip -v``, the one-line errors and ``enable``, while letters
of other scripts stay readable; ``status --json`` stays valid JSON with the
exact path. Real pip in real venvs, against the loopback TLS index.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

from lib.pki import Pki
from lib.running import assert_downloaded, download, shim, write_config
from lib.servers import TlsIndex
from lib.venvs import Venv

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


def cli(
    venv: Venv,
    args: List[str],
    home: Path,
    env: Optional[Dict[str, str]] = None,
    config_file: Optional[str] = None,
) -> subprocess.CompletedProcess[str]:
    return venv.run(["-m", "pip_trustshim", *args], home, env=env, config_file=config_file)


def test_status_escapes_a_path(venv: Venv, home: Path, pki: Pki) -> None:
    path = nasty_copy(home, pki)
    env = shim(str(pki.ca_pem), PIP_TRUSTSHIM_EXTRA_CA=str(path))
    proc = cli(venv, ["status"], home, env=env)
    assert proc.returncode == 0, proc.stderr
    assert raw_controls(proc.stdout) == [], proc.stdout
    assert f"  extra CA file: {home}/{SHOWN}\n" in proc.stdout
    assert f"  extra-ca:  {home}/{SHOWN}  [environment variable" in proc.stdout
    # --json: valid JSON (its own escapes), holding the path exactly as it is.
    proc = cli(venv, ["status", "--json"], home, env=env)
    assert proc.returncode == 0 and raw_controls(proc.stdout) == [], proc.stdout
    report = json.loads(proc.stdout)
    assert report["extra_ca"] == [str(path)]
    assert report["settings"]["extra-ca"]["value"] == str(path)


def test_pip_v_escapes_a_path(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    path = nasty_copy(home, pki)
    env = shim(str(path), PIP_TRUSTSHIM_EXTRA_CA=str(path))
    proc = download(venv, home, index.url, env=env, args=["-v"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert raw_controls(out) == [], out
    assert f"  store: {home}/{SHOWN} (from environment variable PIP_TRUSTSHIM_STORE)" in out
    assert f"  extra CA: {home}/{SHOWN} (from environment variable" in out


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
