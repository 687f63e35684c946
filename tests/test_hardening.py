"""Hardening, the way a security reviewer would try to break the shim.

Bad inputs stop pip with one ``pip-trustshim:`` line and no connection;
missing dependencies and a half-removed installation fail closed; the
startup hook never disturbs a Python process; threads and parallel pips
share one decision. Everything runs real pip against the loopback TLS index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from support import (
    UNKNOWN_ISSUER,
    Pki,
    TlsIndex,
    Venv,
    assert_downloaded,
    assert_refused,
    assert_shim_error,
    download,
    make_venv,
    pip_at_least,
    scrubbed_env,
    shim,
    write_config,
)

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
    config_file_nowhere,
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[case.__name__ for case in BAD_INPUTS])
def test_bad_input_stops_pip(venv: Venv, home: Path, index: TlsIndex, pki: Pki, case: Case) -> None:
    env, conf, words = case(home, pki)
    proc = download(venv, home, index.url, env=env, config_file=conf)
    assert_shim_error(proc, index, *words)


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
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
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


# -------------------------------------------------------- fault injection


def shadow(home: Path, module: str) -> Dict[str, str]:
    """PYTHONPATH that makes ``import module`` fail, as if it were not installed."""
    package = home / "shadow" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"raise ImportError('{module} is not installed')\n")
    return {"PYTHONPATH": str(package.parent)}


def test_certifi_missing(venv: Venv, home: Path, index: TlsIndex) -> None:
    proc = download(venv, home, index.url, env=shim("certifi", **shadow(home, "certifi")))
    assert_shim_error(proc, index, "trustshim.store", "'certifi'", "pip install certifi")


def test_truststore_missing(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    env = shim("system", SSL_CERT_FILE=str(pki.ca_pem), **shadow(home, "truststore"))
    proc = download(venv, home, index.url, env=env)
    py310 = tuple(int(part) for part in venv.python_version.split(".")) >= (3, 10)
    if py310 and not pip_at_least(venv, "23.3"):  # no truststore anywhere: stop
        assert_shim_error(proc, index, "trustshim.store", "'system'", "needs truststore")
    else:  # pip's vendored copy (3.10+), or OpenSSL's default paths (3.8/3.9)
        assert_downloaded(proc, home)


def test_half_removed_installation(
    private_venv: Venv,
    home: Path,
    index: TlsIndex,
    pki: Pki,
) -> None:
    venv = private_venv
    shutil.rmtree(venv.site_packages() / "pip_trustshim")
    assert (venv.site_packages() / "_pip_trustshim_boot.py").is_file()
    # Any other Python runs normally and quietly, switch on or not.
    for env in ({}, {"PIP_TRUSTSHIM": "1"}):
        proc = venv.run(["-c", "print('hello')"], home, env=env)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hello\n", "")
    # pip with the switch off runs natively.
    proc = download(venv, home, index.url, args=["--cert", str(pki.ca_pem)])
    assert_downloaded(proc, home)
    assert "pip-trustshim" not in proc.stdout + proc.stderr
    # pip with the switch on (environment or pip.conf) stops and says how to repair.
    conf = write_config(home / "pip.conf", enabled="yes")
    for env, config in (({"PIP_TRUSTSHIM": "1"}, None), ({}, str(conf))):
        with TlsIndex(pki, index.dists) as fresh:
            proc = download(venv, home, fresh.url, env=env, config_file=config)
            assert_shim_error(proc, fresh, "installation is damaged", "PIP_TRUSTSHIM=0")


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
real = trust.build_context
trust.build_context = lambda settings: built.append(1) or real(settings)
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


def test_parallel_pips(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    procs = []
    for n in range(4):
        command = [str(venv.python), "-m", "pip", "download", "--no-deps", "--retries", "0"]
        command += ["-d", str(home / f"d{n}"), "--index-url", index.url, "tinypkg"]
        env = scrubbed_env(venv.bin, home / f"h{n}", extra=shim(str(pki.ca_pem)))
        (home / f"h{n}").mkdir()
        procs.append(
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
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
        warnings = [line for line in proc.stdout.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 2, proc.stdout
        assert str(bundle) in warnings[0] and str(conf) in warnings[1]
        assert all("writable by group or others" in line for line in warnings)
    bundle.chmod(0o644)
    conf.chmod(0o600)
    proc = venv.run(command, home, config_file=str(conf))
    assert proc.returncode == 0 and "warning:" not in proc.stdout, proc.stdout
