"""Hardening, the way a security reviewer would try to break the shim.

Bad inputs stop pip with one ``pip-trustshim:`` line and no connection;
missing dependencies and a half-removed installation fail closed; the
startup hook never disturbs a Python process; threads and parallel pips
share one decision. Everything runs real pip against the loopback TLS index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest

from lib.pki import Pki
from lib.running import (
    UNKNOWN_ISSUER,
    assert_downloaded,
    assert_refused,
    assert_shim_error,
    download,
    pip_at_least,
    shim,
    write_config,
)
from lib.servers import HttpIndex, TlsIndex
from lib.venvs import Venv, make_venv, scrubbed_env

# ------------------------------------------------------------- bad inputs

#: name -> (make the input under HOME, environment, config file, words the line must hold)
Case = Callable[[Path, Pki], Tuple[Dict[str, str], Optional[str], List[str]]]


def _store(path: Path) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    return shim(str(path)), None, ["trustshim.store", repr(str(path)), "PIP_TRUSTSHIM_STORE"]


def missing_path(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    env, conf, words = _store(home / "missing.pem")
    return env, conf, [*words, "nor an existing file"]


def empty_directory(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    (home / "empty dir").mkdir()
    env, conf, words = _store(home / "empty dir")
    return env, conf, [*words, "holds no OpenSSL-hashed certificates"]


def empty_file(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    (home / "empty.pem").write_text("")
    env, conf, words = _store(home / "empty.pem")
    return env, conf, [*words, "no PEM certificate"]


def garbage_file(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    (home / "garbage.pem").write_bytes(os.urandom(512))
    env, conf, words = _store(home / "garbage.pem")
    return env, conf, [*words, "no PEM certificate"]


def private_key(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    pki.ca.private_key_pem.write_to_path(str(home / "key.pem"))
    env, conf, words = _store(home / "key.pem")
    return env, conf, [*words, "no PEM certificate"]


def unknown_word(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    conf = write_config(home / "pip.conf", enabled="yes", store="os")
    return {}, str(conf), ["trustshim.store", "'os'", str(conf), "neither 'system', 'certifi'"]


def bad_switch(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    conf = write_config(home / "pip.conf", enabled="perhaps", store=str(pki.ca_pem))
    return {}, str(conf), ["trustshim.enabled", "'perhaps'", str(conf), "not a switch value"]


def missing_extra_ca(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    conf = write_config(home / "pip.conf", enabled="1", extra_ca=f"{home}/nothing.pem")
    return {}, str(conf), ["trustshim.extra-ca", str(conf), "nothing.pem", "no such file"]


def fifo(home: Path, name: str) -> Path:
    path = home / name
    os.mkfifo(path)
    return path


def fifo_store(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    env, conf, words = _store(fifo(home, "store.pem"))
    return env, conf, [*words, "not a regular file"]


def fifo_extra_ca(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    path = fifo(home, "extra.pem")
    env = shim(str(pki.ca_pem), PIP_TRUSTSHIM_EXTRA_CA=str(path))
    return env, None, ["trustshim.extra-ca", repr(str(path)), "not a regular file"]


def fifo_pip_cert(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    path = fifo(home, "cert.pem")
    env = shim(str(pki.ca_pem), PIP_CERT=str(path))
    return env, None, ["pip's CA bundle", repr(str(path)), "PIP_CERT", "not a regular file"]


def malformed_block(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    lines = pki.other_ca.cert_pem.bytes().decode().splitlines()
    lines[3] = "!!" + lines[3][2:]  # one damaged base64 line in the second certificate
    (home / "mixed.pem").write_text(pki.ca_pem.read_text() + "\n".join(lines) + "\n")
    first = len(pki.ca_pem.read_text().splitlines()) + 1
    env, conf, words = _store(home / "mixed.pem")
    return env, conf, [*words, f"certificate on lines {first}-", "base64 text is damaged"]


def truncated_tail(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    half = pki.other_ca.cert_pem.bytes().decode().splitlines()[:6]
    (home / "cut.pem").write_text(pki.ca_pem.read_text() + "\n".join(half) + "\n")
    first = len(pki.ca_pem.read_text().splitlines()) + 1
    env, conf, words = _store(home / "cut.pem")
    return env, conf, [*words, f"truncated: the PEM block that begins on line {first}"]


def config_file_nowhere(home: Path, pki: Pki) -> Tuple[Dict[str, str], Optional[str], List[str]]:
    nowhere = str(home / "nowhere" / "pip.conf")
    return shim(str(pki.ca_pem)), nowhere, ["PIP_CONFIG_FILE", repr(nowhere), "no such file"]


BAD_INPUTS = [
    missing_path,
    empty_directory,
    empty_file,
    garbage_file,
    private_key,
    unknown_word,
    bad_switch,
    missing_extra_ca,
    fifo_store,
    fifo_extra_ca,
    fifo_pip_cert,
    malformed_block,
    truncated_tail,
    config_file_nowhere,
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[case.__name__ for case in BAD_INPUTS])
def test_bad_input_stops_pip(venv: Venv, home: Path, index: TlsIndex, pki: Pki, case: Case) -> None:
    env, conf, words = case(home, pki)
    proc = download(venv, home, index.url, env=env, config_file=conf)
    assert_shim_error(proc, index, *words)
    # The command line names the same problem, and never waits on a FIFO either.
    status = venv.run(["-m", "pip_trustshim", "status"], home, env=env, config_file=conf)
    assert status.returncode == 0, status.stderr
    (line,) = [line for line in status.stdout.splitlines() if line.startswith("  error: ")]
    assert all(word in line for word in words), line


#: a bad setting of each kind: a path, a word, the switch, a FIFO, pip's own bundle
PLAIN_HTTP_CASES = [missing_path, unknown_word, bad_switch, fifo_store, fifo_pip_cert]


@pytest.mark.parametrize("case", PLAIN_HTTP_CASES, ids=[c.__name__ for c in PLAIN_HTTP_CASES])
def test_a_bad_setting_stops_plain_http_too(
    venv: Venv, home: Path, pki: Pki, dists: Path, case: Case
) -> None:
    """A bad setting stops every request, not only HTTPS: an ``http://`` index that
    pip would use (``--trusted-host``) gets the same line and sees no request."""
    env, conf, words = case(home, pki)
    args = ["--trusted-host", "127.0.0.1"]
    with HttpIndex(dists) as plain:
        proc = download(venv, home, plain.ip_url, env=env, config_file=conf, args=args)
        assert_shim_error(proc, plain, *words)
        assert plain.requests == []
        # The index does serve pip: with the shim off, pip downloads from it.
        assert_downloaded(download(venv, home, plain.ip_url, args=args), home)
        assert plain.requests


def test_unreadable_file_stops_pip(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    secret = home / "unreadable.pem"
    secret.write_bytes(pki.ca_pem.read_bytes())
    secret.chmod(0)
    command = [str(venv.python), "-m", "pip", "download", "--no-deps", "--retries", "0"]
    command += ["-d", str(home / "downloads"), "--index-url", index.url, "tinypkg"]
    if os.geteuid() == 0:  # root reads anything: run pip without the capabilities for it
        if not shutil.which("setpriv"):
            pytest.skip("running as root and setpriv is missing: cannot drop privileges")
        drop = "--bounding-set=-dac_override,-dac_read_search"
        command = ["setpriv", drop, *command]
    env = scrubbed_env(venv.bin, home, extra=shim(str(secret)))
    proc = subprocess.run(command, env=env, cwd=home, capture_output=True, text=True, timeout=120)
    assert_shim_error(proc, index, "trustshim.store", repr(str(secret)), "permission denied")


def test_corrupt_pip_conf(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    """Switched on by the environment, the shim names the file; otherwise pip does."""
    conf = home / "pip.conf"
    conf.write_text("[trustshim\nenabled = yes\n")
    proc = download(venv, home, index.url, env=shim(str(pki.ca_pem)), config_file=str(conf))
    assert_shim_error(proc, index, repr(str(conf)), "PIP_CONFIG_FILE", "cannot be parsed")
    # Switched on only inside the file pip cannot parse: pip's own message.
    proc = download(venv, home, index.url, config_file=str(conf))
    assert proc.returncode != 0, proc.stderr
    assert proc.stderr.startswith("Configuration file could not be loaded."), proc.stderr
    assert str(conf) in proc.stderr and "Traceback" not in proc.stderr
    assert index.connections == 0


LIBRARY = """
import sys
from pip._internal.network.session import PipSession
session = PipSession()
print("built")
try:
    print(session.get(sys.argv[1] + "tinypkg/", verify=sys.argv[2], timeout=20).status_code)
except Exception as error:
    print(type(error).__name__, error)
"""


def test_a_pip_conf_pip_cannot_parse_in_library_use(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """A program builds pip's session itself (no command line, no main parser).

    With ``PIP_TRUSTSHIM`` unset, nothing changes: the session is built and
    works, as in a venv without the shim. Switched on, it refuses the network
    with the shim's one line naming the file.
    """
    conf = home / "pip.conf"
    conf.write_text("[trustshim\nenabled = yes\n")
    args = ["-c", LIBRARY, index.url, str(pki.ca_pem)]
    plain = make_venv(venv.python_version, venv.pip_version, None)
    for which in (plain, venv):
        proc = which.run(args, home, config_file=str(conf))
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "built\n200\n", ""), which
    with TlsIndex(pki, index.dists) as fresh:
        args = ["-c", LIBRARY, fresh.url, str(pki.ca_pem)]
        proc = venv.run(args, home, env={"PIP_TRUSTSHIM": "1"}, config_file=str(conf))
        assert proc.returncode == 0, proc.stderr
        built, refused = proc.stdout.splitlines()
        assert built == "built", proc.stdout
        where = f"config file {str(conf)!r} (from environment variable PIP_CONFIG_FILE)"
        assert refused.startswith(f"CommandError pip-trustshim: {where} cannot be parsed"), refused
        assert fresh.connections == 0


# -------------------------------------------------------- fault injection


def shadow(home: Path, module: str) -> Dict[str, str]:
    """PYTHONPATH that makes ``import module`` fail, as if it were not installed."""
    package = home / "shadow" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"raise ImportError('{module} is not installed')\n")
    return {"PYTHONPATH": str(package.parent)}


def test_certifi_missing(venv: Venv, home: Path, index: TlsIndex) -> None:
    proc = download(venv, home, index.url, env=shim("certifi", **shadow(home, "certifi")))
    assert_shim_error(
        proc, index, "trustshim.store", "'certifi'", "PIP_TRUSTSHIM=0 pip install certifi"
    )


def test_truststore_missing(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    env = shim("system", SSL_CERT_FILE=str(pki.ca_pem), **shadow(home, "truststore"))
    proc = download(venv, home, index.url, env=env)
    py310 = tuple(int(part) for part in venv.python_version.split(".")) >= (3, 10)
    if py310 and not pip_at_least(venv, "23.3"):  # no truststore anywhere: stop
        advice = "needs truststore on Python >= 3.10 (PIP_TRUSTSHIM=0 pip install truststore)"
        assert_shim_error(proc, index, "trustshim.store", "'system'", advice)
    else:  # pip's vendored copy (3.10+), or OpenSSL's default paths (3.8/3.9)
        assert_downloaded(proc, home)


def remove_package(site_packages: Path) -> None:
    shutil.rmtree(site_packages / "pip_trustshim")


def remove_hook_module(site_packages: Path) -> None:
    (site_packages / "pip_trustshim" / "hook.py").unlink()


def remove_trust_module(site_packages: Path) -> None:
    (site_packages / "pip_trustshim" / "trust.py").unlink()


def break_package(site_packages: Path) -> None:
    init = site_packages / "pip_trustshim" / "__init__.py"
    init.write_text(init.read_text() + "\nraise RuntimeError('half-written file')\n")


def break_after(site_packages: Path) -> None:
    """The package imports, but ``hook.after`` itself raises (the boot module's second
    fail-closed path, where every other damage breaks the import)."""
    hook = site_packages / "pip_trustshim" / "hook.py"
    broken = "\n\ndef after(module):\n    raise RuntimeError('after() is broken')\n"
    hook.write_text(hook.read_text() + broken)


DAMAGES = [remove_package, remove_hook_module, remove_trust_module, break_package, break_after]


@pytest.mark.parametrize("damage", DAMAGES, ids=[damage.__name__ for damage in DAMAGES])
def test_partial_installation_fails_closed(
    private_venv: Venv, home: Path, index: TlsIndex, pki: Pki, damage: Callable[[Path], None]
) -> None:
    venv = private_venv
    damage(venv.site_packages())
    assert (venv.site_packages() / "_pip_trustshim_boot.py").is_file()
    # Any other Python runs normally and quietly, switch on or not.
    for env in ({}, {"PIP_TRUSTSHIM": "1"}):
        proc = venv.run(["-c", "print('hello')"], home, env=env)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hello\n", "")
    # pip with the switch off runs natively.
    proc = download(venv, home, index.url, args=["--cert", str(pki.ca_pem)])
    assert_downloaded(proc, home)
    assert "pip-trustshim" not in proc.stdout + proc.stderr
    # pip with the switch on (environment or pip.conf) stops and says how to repair;
    # a command that needs no network still runs, so pip can repair the installation.
    conf = write_config(home / "pip.conf", enabled="yes", store=str(pki.ca_pem))
    for env, config in (({"PIP_TRUSTSHIM": "1"}, None), ({}, str(conf))):
        with TlsIndex(pki, index.dists) as fresh:
            proc = download(venv, home, fresh.url, env=env, config_file=config)
            assert_shim_error(proc, fresh, "installation is damaged", "PIP_TRUSTSHIM=0")
            if damage is break_after:
                assert "(RuntimeError: after() is broken)" in proc.stderr, proc.stderr
        listed = venv.pip(["list"], home, env=env, config_file=config)
        assert listed.returncode == 0 and "pip-trustshim" in listed.stdout, listed.stderr
    if damage in (remove_hook_module, remove_trust_module):  # the command line says what
        proc = venv.run(["-m", "pip_trustshim", "status", "--json"], home)
        problems = json.loads(proc.stdout)["hook"]["problems"]
        assert problems and all("cannot be imported" in problem for problem in problems)


def test_start_up_files_missing_are_reported(private_venv: Venv, home: Path) -> None:
    """Without its start-up files nothing of the shim can run; ``status`` says so."""
    venv = private_venv
    (venv.site_packages() / "_pip_trustshim_boot.py").unlink()
    proc = venv.run(["-c", "pass"], home, env={"PIP_TRUSTSHIM": "1"})
    assert "pip_trustshim.pth" in proc.stderr  # site names the broken line at every start
    status = venv.run(["-m", "pip_trustshim", "status"], home, env={"PIP_TRUSTSHIM": "1"})
    assert "installation is DAMAGED" in status.stdout.splitlines()[0], status.stdout
    assert "hook DAMAGED: _pip_trustshim_boot cannot be imported" in status.stdout
    (venv.site_packages() / "pip_trustshim.pth").unlink()
    report = json.loads(venv.run(["-m", "pip_trustshim", "status", "--json"], home).stdout)
    problems = report["hook"]["problems"]
    assert "pip_trustshim.pth is missing: no Python process runs the hook" in problems


# ------------------------------------------------------- not pip at all

FAKE_SESSION = """\
class PipSession:
    '''A class of that name, in a package called pip that is not pip.'''
"""


def test_a_package_called_pip_that_is_not_pip(venv: Venv, home: Path) -> None:
    fake = home / "fake" / "pip" / "_internal" / "network"
    fake.mkdir(parents=True)
    for package in (fake.parent.parent, fake.parent, fake):
        (package / "__init__.py").write_text("")
    (fake / "session.py").write_text(FAKE_SESSION)
    code = "from pip._internal.network.session import PipSession; PipSession(); print('built')"
    path = {"PYTHONPATH": str(home / "fake")}
    for env in ({}, {"PIP_TRUSTSHIM": "0"}):  # unset or off: nothing of the shim shows
        proc = venv.run(["-c", code], home, env={**path, **env})
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "built\n", "")
    proc = venv.run(["-c", code], home, env={**path, "PIP_TRUSTSHIM": "1"})
    assert proc.returncode == 1 and proc.stdout == "", proc.stdout
    (line,) = proc.stderr.splitlines()
    assert line.startswith("pip-trustshim: this pip (pip of unknown version) is not one"), line


# --------------------------------------------------------- the quiet hook

QUIET_SETTINGS = [
    {},
    {"PIP_TRUSTSHIM": "1"},
    {"PIP_TRUSTSHIM": "maybe", "PIP_TRUSTSHIM_STORE": "/nowhere"},
    {"PIP_TRUSTSHIM": "1", "PIP_TRUSTSHIM_EXTRA_CA": "\x7f:::"},
    {"_PIP_TRUSTSHIM_INHERITED": "{not json"},
]
PROBE = "import sys; print('out'); print('err', file=sys.stderr); print(sys.argv[1:])"


@pytest.mark.parametrize("flags", [[], ["-I"], ["-E"], ["-S"]], ids=["", "-I", "-E", "-S"])
def test_the_hook_is_quiet(venv: Venv, home: Path, flags: List[str]) -> None:
    plain = make_venv(venv.python_version, venv.pip_version, None)
    for env in QUIET_SETTINGS:
        args = [*flags, "-c", PROBE, "x"]
        ours, theirs = venv.run(args, home, env=env), plain.run(args, home, env=env)
        assert (ours.returncode, ours.stdout, ours.stderr) == (
            theirs.returncode,
            theirs.stdout,
            theirs.stderr,
        )
    code = "import sys; print('_pip_trustshim_boot' in sys.modules)"
    loaded = venv.run([*flags, "-c", code], home).stdout.strip()
    assert loaded == ("False" if "-S" in flags else "True")


# ------------------------------------------------------------ concurrency

THREADS = """
import sys, threading
import pip_trustshim.trust as trust
built = []
real = trust.store_context
trust.store_context = lambda *args: built.append(1) or real(*args)
from pip._internal.network.session import PipSession
sessions, codes = [], []
def work():
    session = PipSession()
    sessions.append(session)
    codes.append(session.get(sys.argv[1] + "tinypkg/", timeout=20).status_code)
threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join()
pools = [s.adapters["https://"].poolmanager for s in sessions]
contexts = {id(pool.connection_pool_kw["ssl_context"]) for pool in pools}
print(len(sessions), len(contexts), len(built), sorted(set(codes)))
"""


def test_threads_share_one_context(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    proc = venv.run(["-c", textwrap.dedent(THREADS), index.url], home, env=shim(str(pki.ca_pem)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["8", "1", "1", "[200]"]


SESSIONS = """
import sys
from pip._internal.network.session import PipSession

def get(session, url):
    try:
        return str(session.get(url + "tinypkg/", timeout=20).status_code)
    except Exception as error:  # requests' SSLError, or pip 26's own wrapper of it
        text = repr(error) + repr(error.__context__)
        return "refused" if "CERTIFICATE_VERIFY_FAILED" in text else text

index, other, other_ca = sys.argv[1:4]
first, own = PipSession(), PipSession()
own.verify = other_ca  # a program's own session, with its own CA bundle
print(get(first, other), get(own, other), get(own, index), get(first, other))
later = PipSession()
print(get(later, other), get(later, index), get(first, index))
"""


def test_a_sessions_own_bundle_counts_for_that_session_only(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    """pip as a library: a session's ``verify`` widens that session, never the others."""
    args = ["-c", SESSIONS, index.url, other_index.url, str(pki.other_ca_pem)]
    proc = venv.run(args, home, env=shim(str(pki.ca_pem)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["refused 200 200 refused", "refused 200 200"]


KEEP_ALIVE = """
import sys, threading
from pip._internal.network.session import PipSession

def get(session, url, **kwargs):
    try:
        return str(session.get(url + "tinypkg/", timeout=20, **kwargs).status_code)
    except Exception as error:  # requests' SSLError, or pip 26's own wrapper of it
        text = repr(error) + repr(error.__context__)
        return "refused" if "CERTIFICATE_VERIFY_FAILED" in text else text

url, ca = sys.argv[1:3]
session = PipSession()
print(*[get(session, url, **kwargs) for kwargs in ({"verify": ca}, {}, {"verify": ca}, {})])
# Two threads on one session (one pool), one request with the bundle, one without, in turn.
found = {"with": set(), "without": set()}
def work(name, kwargs):
    for _ in range(10):
        found[name].add(get(session, url, **kwargs))
threads = [threading.Thread(target=work, args=("with", {"verify": ca})),
           threading.Thread(target=work, args=("without", {}))]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(sorted(found["with"]), sorted(found["without"]))
"""


def test_a_kept_alive_connection_serves_only_its_own_context(
    venv: Venv, home: Path, other_index: TlsIndex, pki: Pki
) -> None:
    """pip as a library: a connection verified under one request's ``verify=`` bundle
    never serves a request without it (requests before 2.32 keep one pool per host)."""
    args = ["-c", KEEP_ALIVE, other_index.url, str(pki.other_ca_pem)]
    proc = venv.run(args, home, env=shim(str(pki.ca_pem)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "200 refused 200 refused",
        "['200'] ['refused']",
    ], proc.stdout


def test_parallel_pips(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    procs = []
    for n in range(4):
        command = [str(venv.python), "-m", "pip", "download", "--no-deps", "--retries", "0"]
        command += ["-d", str(home / f"d{n}"), "--index-url", index.url, "tinypkg"]
        env = scrubbed_env(venv.bin, home / f"h{n}", extra=shim(str(pki.ca_pem)))
        (home / f"h{n}").mkdir()
        procs.append(
            subprocess.Popen(
                command, env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        )
    for n, proc in enumerate(procs):
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert (home / f"d{n}" / "tinypkg-1.0-py3-none-any.whl").is_file()
    refused = download(venv, home, index.url, env=shim("certifi"))
    assert_refused(refused, home, UNKNOWN_ISSUER)


# ------------------------------------------ bad certificates, every store

BAD_LEAVES = {
    "expired": "certificate has expired",
    "not-yet-valid": "certificate is not yet valid",
    "wrong-host": "match",  # "Hostname mismatch" (OpenSSL 1.1+), "doesn't match" (older)
    "unknown-ca": UNKNOWN_ISSUER,
    "self-signed": "self-signed certificate",
    "self-signed-chain": "self-signed certificate in certificate chain",
    "intermediate-missing": UNKNOWN_ISSUER,
}


def store_holding_the_ca(kind: str, home: Path, pki: Pki) -> Dict[str, str]:
    """Shim settings whose store (of ``kind``) trusts the test CA."""
    if kind == "bundle":
        return shim(str(pki.ca_pem))
    if kind == "hashed directory":
        hashed = home / "hashed"
        hashed.mkdir(exist_ok=True)
        subject_hash = subprocess.run(
            ["openssl", "x509", "-hash", "-noout", "-in", str(pki.ca_pem)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (hashed / f"{subject_hash}.0").write_bytes(pki.ca_pem.read_bytes())
        return shim(str(hashed))
    if kind == "system":
        return shim("system", SSL_CERT_FILE=str(pki.ca_pem))
    fake = home / "fake-certifi" / "certifi"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text(f"def where():\n    return {str(pki.ca_pem)!r}\n")
    return shim("certifi", PYTHONPATH=str(fake.parent))


@pytest.mark.parametrize("kind", ["bundle", "hashed directory", "system", "certifi"])
def test_bad_certificates_refused_in_every_store(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki, kind: str
) -> None:
    env = store_holding_the_ca(kind, home, pki)
    assert_downloaded(download(venv, home, index.url, env=env), home)  # the store works
    servers = {leaf: TlsIndex(pki, index.dists, leaf=leaf) for leaf in BAD_LEAVES}
    try:
        first, *rest = servers.values()
        args = [arg for server in rest for arg in ("--extra-index-url", server.url)]
        proc = download(venv, home, first.url, env=env, args=args)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out
        for leaf, reason in BAD_LEAVES.items():
            server = servers[leaf]
            assert server.connections > 0 and server.requests == [], leaf
            lines = [line for line in out.splitlines() if f":{server.port}/" in line]
            assert any(reason in line for line in lines), (leaf, lines)
    finally:
        for server in servers.values():
            server.close()


def test_missing_intermediate_accepted_once_trusted(
    venv: Venv, home: Path, pki: Pki, dists: Path
) -> None:
    with TlsIndex(pki, dists, leaf="intermediate-missing") as server:
        env = shim(str(pki.ca_pem), PIP_TRUSTSHIM_EXTRA_CA=str(pki.intermediate_pem))
        assert_downloaded(download(venv, home, server.url, env=env), home)


# ------------------------------------------------- loose file permissions


def test_check_warns_about_writable_trust_files(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    bundle = home / "corp.pem"
    bundle.write_bytes(pki.ca_pem.read_bytes())
    conf = write_config(home / "pip.conf", enabled="yes", store=str(bundle))
    command = ["-m", "pip_trustshim", "check", index.url]
    for mode in (0o664, 0o646):
        bundle.chmod(mode)
        conf.chmod(mode)
        proc = venv.run(command, home, config_file=str(conf))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        # (a global pip.conf's bundle may add a warning of its own: out-of-date CAs)
        warnings = [line for line in proc.stdout.splitlines() if "writable" in line]
        assert len(warnings) == 2, proc.stdout
        assert all(line.startswith("warning: ") for line in warnings)
        assert str(bundle) in warnings[0] and str(conf) in warnings[1]
        assert all("writable by group or others" in line for line in warnings)
    bundle.chmod(0o644)
    conf.chmod(0o600)
    proc = venv.run(command, home, config_file=str(conf))
    assert proc.returncode == 0 and "writable" not in proc.stdout, proc.stdout


# ------------------------------------------------ a client certificate FIFO


def test_a_client_certificate_that_is_a_fifo_stops_pip(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    """pip's own ``--client-cert`` and a ``host-client-cert`` entry naming a FIFO are
    refused before anything reads them: one line, no connection, and no hang (pip
    is killed, and the test fails, if it still runs after the timeout)."""
    path = fifo(home, "client.pem")
    words = ["pip's client certificate", repr(str(path)), "PIP_CLIENT_CERT", "not a regular file"]
    for args, env in (
        (["--client-cert", str(path)], shim(str(pki.ca_pem))),
        ([], shim(str(pki.ca_pem), PIP_CLIENT_CERT=str(path))),
    ):
        proc = download(venv, home, index.url, env=env, args=args, timeout=60)
        assert_shim_error(proc, index, *words)
    entry = shim(str(pki.ca_pem), PIP_TRUSTSHIM_HOST_CLIENT_CERT=f"localhost {path}")
    proc = download(venv, home, index.url, env=entry, timeout=60)
    assert_shim_error(proc, index, "trustshim.host-client-cert", "not a regular file")
