"""End to end: docs/specification.md "Settings", "What is trusted" and "When
something is wrong", each shown with real pip in a real venv against a real TLS index.

Every case runs on two pips: 23.2.1 on CPython 3.11 (vendored urllib3 1.x,
no truststore of its own) and 26.3 on CPython 3.13 (urllib3 2.x, pip's own
truststore + certifi trust). Each pip run gets a scrubbed environment and a
fresh HOME (see ``lib.venvs.scrubbed_env``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List

import pytest

from lib.pki import Pki
from lib.running import (
    UNKNOWN_ISSUER,
    assert_downloaded,
    assert_refused,
    assert_shim_error,
    download,
    shim,
    write_config,
)
from lib.servers import TlsIndex
from lib.venvs import Venv, fresh_venv

# ----------------------------------------------------------------- switching


def test_off_by_default_pip_is_native(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    assert_refused(download(venv, home, index.url), home, UNKNOWN_ISSUER)
    proc = download(venv, home, index.url, args=["-v", "--cert", str(pki.ca_pem)])
    assert_downloaded(proc, home)
    assert "pip-trustshim" not in proc.stdout + proc.stderr  # pip -v names the shim when on


@pytest.mark.parametrize("word", ["1", "true", "YES", "On"])
def test_on_words_switch_on(venv: Venv, home: Path, index: TlsIndex, pki: Pki, word: str) -> None:
    env = {"PIP_TRUSTSHIM": word, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    assert_downloaded(download(venv, home, index.url, env=env), home)


@pytest.mark.parametrize("word", ["0", "false", "No", "OFF"])
def test_off_words_switch_off(venv: Venv, home: Path, index: TlsIndex, pki: Pki, word: str) -> None:
    env = {"PIP_TRUSTSHIM": word, "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    assert_refused(download(venv, home, index.url, env=env), home, UNKNOWN_ISSUER)


def test_settings_from_pip_conf(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    conf = write_config(home / "pip.conf", enabled="yes", store=str(pki.ca_pem))
    assert_downloaded(download(venv, home, index.url, config_file=str(conf)), home)


def test_environment_wins_over_pip_conf(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    conf = write_config(home / "pip.conf", enabled="yes", store="/nowhere/ca.pem")
    env = {"PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
    assert_downloaded(download(venv, home, index.url, env=env, config_file=str(conf)), home)
    proc = download(venv, home, index.url, env={"PIP_TRUSTSHIM": "0"}, config_file=str(conf))
    assert_refused(proc, home, UNKNOWN_ISSUER)


def test_pip_config_set_writes_what_the_shim_reads(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    # PIP_CONFIG_FILE names a file that does not exist, so pip uses the user
    # file under this test's HOME (and the machine's global files, which
    # hold nothing about the test CA).
    user = {"XDG_CONFIG_DIRS": str(home / "xdg")}
    no_config_file = ""  # no PIP_CONFIG_FILE: pip reads the user file
    for key, value in (("trustshim.enabled", "yes"), ("trustshim.store", str(pki.ca_pem))):
        proc = venv.pip(["config", "set", key, value], home, env=user, config_file=no_config_file)
        assert proc.returncode == 0, proc.stderr
    assert (home / ".config" / "pip" / "pip.conf").is_file()
    got = venv.pip(["config", "get", "trustshim.store"], home, env=user, config_file=no_config_file)
    assert got.stdout.strip() == str(pki.ca_pem)
    proc = download(venv, home, index.url, env=user, config_file=no_config_file)
    assert_downloaded(proc, home)


def test_config_files_are_ordered_as_pip_orders_them(
    private_venv: Venv,
    home: Path,
    index: TlsIndex,
    pki: Pki,
) -> None:
    """user < site (``sys.prefix/pip.conf``) < ``PIP_CONFIG_FILE``, as in pip."""
    venv = private_venv
    user = home / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    write_config(user, enabled="yes", store="/nowhere/user.pem")
    write_config(venv.path / "pip.conf", enabled="yes", store=str(pki.ca_pem))
    env = {"XDG_CONFIG_DIRS": str(home / "xdg")}
    no_config_file = ""  # no PIP_CONFIG_FILE: pip reads the user file
    assert_downloaded(download(venv, home, index.url, env=env, config_file=no_config_file), home)
    last = write_config(home / "last.conf", store="/nowhere/last.pem")
    with TlsIndex(pki, index.dists) as fresh:
        proc = download(venv, home, fresh.url, env=env, config_file=str(last))
        assert_shim_error(proc, fresh, "'/nowhere/last.pem'", str(last))


def test_isolated_ignores_environment(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    proc = download(venv, home, index.url, env=shim(str(pki.ca_pem)), args=["--isolated"])
    assert_refused(proc, home, UNKNOWN_ISSUER)
    # PIP_CONFIG_FILE is still read under --isolated; PIP_TRUSTSHIM=0 is not.
    conf = write_config(home / "pip.conf", enabled="on", store=str(pki.ca_pem))
    proc = download(
        venv,
        home,
        index.url,
        env={"PIP_TRUSTSHIM": "0"},
        args=["--isolated"],
        config_file=str(conf),
    )
    assert_downloaded(proc, home)


def test_home_and_variables_expand(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    (home / "certs dir").mkdir()
    (home / "certs dir" / "corp ca é.pem").write_bytes(pki.ca_pem.read_bytes())
    env = shim("~/certs dir/corp ca é.pem")
    assert_downloaded(download(venv, home, index.url, env=env), home)
    env = shim("$CERTS/corp ca é.pem", CERTS=str(home / "certs dir"))
    assert_downloaded(download(venv, home, index.url, env=env), home)


# ------------------------------------------------------------ what is trusted


def test_bundle_store_trusts_only_that_bundle(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    assert_downloaded(download(venv, home, index.url, env=shim(str(pki.ca_pem))), home)
    # Neither the system store (here made to hold the other CA) nor certifi.
    env = shim(str(pki.ca_pem), SSL_CERT_FILE=str(pki.other_ca_pem))
    assert_refused(download(venv, home, other_index.url, env=env), home, UNKNOWN_ISSUER)


def test_extra_cas_are_added(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    env = shim(str(pki.ca_pem), PIP_TRUSTSHIM_EXTRA_CA=str(pki.other_ca_pem))
    assert_downloaded(download(venv, home, other_index.url, env=env), home)
    # Several, separated by os.pathsep in the environment and by newlines in pip.conf.
    env = shim("certifi", PIP_TRUSTSHIM_EXTRA_CA=f"{pki.other_ca_pem}:{pki.ca_pem}")
    assert_downloaded(download(venv, home, other_index.url, env=env), home)
    conf = home / "pip.conf"
    conf.write_text(
        f"[trustshim]\nenabled = 1\nstore = certifi\nextra-ca =\n    {pki.ca_pem}\n"
        f"    {pki.other_ca_pem}\n"
    )
    assert_downloaded(download(venv, home, other_index.url, config_file=str(conf)), home)


def test_hashed_directory_store(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    hashed = home / "hashed"
    hashed.mkdir()
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(pki.ca_pem)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (hashed / f"{subject_hash}.0").write_bytes(pki.ca_pem.read_bytes())
    assert_downloaded(download(venv, home, index.url, env=shim(str(hashed))), home)


def test_system_store(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    # On Linux the OS store is OpenSSL's default paths: SSL_CERT_FILE moves it.
    env = shim("system", SSL_CERT_FILE=str(pki.ca_pem))
    assert_downloaded(download(venv, home, index.url, env=env), home)
    assert_refused(download(venv, home, other_index.url, env=env), home, UNKNOWN_ISSUER)
    # The default store is system.
    env = {"PIP_TRUSTSHIM": "1", "SSL_CERT_FILE": str(pki.ca_pem)}
    assert_downloaded(download(venv, home, index.url, env=env), home)


def test_certifi_store_is_the_installed_certifi(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    fake = home / "fake-certifi" / "certifi"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"def where():\n    return {str(pki.ca_pem)!r}\n")
    env = {"PYTHONPATH": str(fake.parent)}
    # pip on its own uses its vendored copy, which does not hold the test CA.
    assert_refused(download(venv, home, index.url, env=env), home, UNKNOWN_ISSUER)
    assert_downloaded(download(venv, home, index.url, env=shim("certifi", **env)), home)
    # certifi does not mean the system store too.
    env = shim("certifi", SSL_CERT_FILE=str(pki.ca_pem))
    assert_refused(download(venv, home, index.url, env=env), home, UNKNOWN_ISSUER)


@pytest.mark.parametrize(
    "how",
    ["--cert", "PIP_CERT", "cert in pip.conf", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"],
)
def test_bundles_given_to_pip_are_added(
    venv: Venv, home: Path, other_index: TlsIndex, pki: Pki, how: str
) -> None:
    env = shim(str(pki.ca_pem))
    args: List[str] = []
    conf = home / "pip.conf"
    conf.write_text("")
    other = str(pki.other_ca_pem)
    if how == "--cert":
        args = ["--cert", other]
    elif how == "cert in pip.conf":
        conf.write_text(f"[global]\ncert = {other}\n")
    else:
        env[how] = other
    proc = download(venv, home, other_index.url, env=env, args=args, config_file=str(conf))
    assert_downloaded(proc, home)


def test_cert_and_requests_ca_bundle_both_count(
    venv: Venv, home: Path, index: TlsIndex, other_index: TlsIndex, pki: Pki
) -> None:
    # On its own pip lets REQUESTS_CA_BUNDLE silently replace --cert.
    args = ["--cert", str(pki.ca_pem), "--extra-index-url", other_index.url]
    env = {"REQUESTS_CA_BUNDLE": str(pki.other_ca_pem)}
    native = download(venv, home, index.url, env=env, args=args)
    assert index.requests == [], "pip alone should not have trusted --cert"
    assert "CERTIFICATE_VERIFY_FAILED" in native.stdout + native.stderr
    proc = download(venv, home, index.url, env=shim("certifi", **env), args=args)
    assert_downloaded(proc, home)
    assert index.requests and other_index.requests


def test_pips_vendored_certifi_is_not_added(
    private_venv: Venv,
    home: Path,
    index: TlsIndex,
    pki: Pki,
) -> None:
    """pip trusts its vendored certifi (>= 24.2: next to the OS store); the shim does not.

    requests hands that bundle to urllib3 at every new connection; the shim
    must keep it off its context.
    """
    venv = private_venv
    cacert = venv.site_packages() / "pip" / "_vendor" / "certifi" / "cacert.pem"
    cacert.write_bytes(cacert.read_bytes() + pki.ca_pem.read_bytes())
    env = {"SSL_CERT_FILE": str(pki.other_ca_pem)}
    assert_downloaded(download(venv, home, index.url, env=env), home)
    proc = download(venv, home, index.url, env=shim("system", **env))
    assert_refused(proc, home, UNKNOWN_ISSUER)


@pytest.mark.parametrize(
    "leaf, reason",
    [
        ("expired", "certificate has expired"),
        ("wrong-host", "match"),
        ("unknown-ca", UNKNOWN_ISSUER),
    ],
)
def test_bad_certificates_stay_refused(
    venv: Venv, home: Path, pki: Pki, dists: Path, leaf: str, reason: str
) -> None:
    with TlsIndex(pki, dists, leaf=leaf) as bad:
        env = shim(str(pki.ca_pem))
        assert_refused(download(venv, home, bad.url, env=env), home, reason)
        assert_refused(download(venv, home, bad.ip_url, env=env), home, reason)


def test_index_by_ip_address(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    assert_downloaded(download(venv, home, index.ip_url, env=shim(str(pki.ca_pem))), home)


def test_trusted_host_keeps_working(
    venv: Venv, home: Path, other_index: TlsIndex, pki: Pki
) -> None:
    args = ["--trusted-host", f"localhost:{other_index.port}"]
    proc = download(venv, home, other_index.url, env=shim(str(pki.ca_pem)), args=args)
    assert_downloaded(proc, home)


def test_pip_install(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    target = home / "target"
    args = ["install", "--retries", "0", "--index-url", index.url, "--target", str(target)]
    proc = venv.pip([*args, "tinypkg"], home, env=shim(str(pki.ca_pem)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "tinypkg.py").is_file()
    proc = venv.pip([*args, "--upgrade", "tinypkg"], home, env=shim("certifi"))
    assert proc.returncode != 0
    assert UNKNOWN_ISSUER in proc.stdout + proc.stderr


# ------------------------------------------------------ when something is wrong


def test_bad_store_from_environment(venv: Venv, home: Path, index: TlsIndex) -> None:
    proc = download(venv, home, index.url, env=shim("/nowhere/ca.pem"))
    expected = ("trustshim.store", "'/nowhere/ca.pem'", "PIP_TRUSTSHIM_STORE", "nor an existing")
    assert_shim_error(proc, index, *expected)


def test_bad_store_from_pip_conf(venv: Venv, home: Path, index: TlsIndex) -> None:
    conf = write_config(home / "pip.conf", enabled="true", store="sytem")
    proc = download(venv, home, index.url, config_file=str(conf))
    assert_shim_error(proc, index, "trustshim.store", "'sytem'", str(conf))


def test_bad_switch_value(venv: Venv, home: Path, index: TlsIndex) -> None:
    proc = download(venv, home, index.url, env={"PIP_TRUSTSHIM": "maybe"})
    assert_shim_error(proc, index, "trustshim.enabled", "'maybe'", "PIP_TRUSTSHIM")


def test_bad_switch_value_in_pip_conf(venv: Venv, home: Path, index: TlsIndex) -> None:
    conf = write_config(home / "pip.conf", enabled="sometimes")
    proc = download(venv, home, index.url, config_file=str(conf))
    assert_shim_error(proc, index, "trustshim.enabled", "'sometimes'", str(conf))


def test_bad_extra_ca(venv: Venv, home: Path, index: TlsIndex, pki: Pki) -> None:
    env = shim(str(pki.ca_pem), PIP_TRUSTSHIM_EXTRA_CA="/nowhere/extra.pem")
    proc = download(venv, home, index.url, env=env)
    assert_shim_error(proc, index, "trustshim.extra-ca", "PIP_TRUSTSHIM_EXTRA_CA", "no such file")


def test_file_without_certificates(venv: Venv, home: Path, index: TlsIndex) -> None:
    garbage = home / "garbage.pem"
    garbage.write_text("not a certificate\n")
    proc = download(venv, home, index.url, env=shim(str(garbage)))
    assert_shim_error(proc, index, str(garbage), "no PEM certificate")


def test_commands_without_network_still_run(
    venv: Venv, home: Path, index: TlsIndex, dists: Path
) -> None:
    env = shim("/nowhere/ca.pem")
    for args in (["--version"], ["config", "list"], ["list"]):
        proc = venv.pip(args, home, env=env)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "pip-trustshim" not in proc.stderr
    target = home / "target"
    wheel = str(dists / "tinypkg-1.0-py3-none-any.whl")
    installed = venv.pip(["install", "--no-index", "--target", str(target), wheel], home, env=env)
    assert installed.returncode == 0, installed.stderr
    assert (target / "tinypkg.py").is_file()
    assert index.connections == 0


# ------------------------------------------------------------- install, remove


def test_uninstall_leaves_nothing_behind(project_wheel: Path, home: Path, tmp_path: Path) -> None:
    venv = fresh_venv(tmp_path / "venv", "3.11", "23.2.1", None)
    before = sorted(p.name for p in venv.site_packages().iterdir() if p.name != "__pycache__")
    proc = venv.pip(["install", "--no-index", "--no-deps", str(project_wheel)], home)
    assert proc.returncode == 0, proc.stderr
    added = set(p.name for p in venv.site_packages().iterdir()) - set(before)
    assert {"pip_trustshim.pth", "_pip_trustshim_boot.py"} <= added
    assert "pip_trustshim.start" not in added  # PEP 829's form would cost every start on 3.15
    proc = venv.pip(["uninstall", "-y", "pip-trustshim"], home)
    assert proc.returncode == 0, proc.stderr
    after = sorted(p.name for p in venv.site_packages().iterdir() if p.name != "__pycache__")
    assert after == before
    assert list((venv.site_packages() / "__pycache__").glob("_pip_trustshim*")) == []


def test_python_without_pip_loads_nothing(venv: Venv, home: Path, pki: Pki) -> None:
    code = "import sys; print(sorted(m for m in sys.modules if 'trustshim' in m or 'pip' in m))"
    proc = venv.run(["-c", code], home, env=shim(str(pki.ca_pem)))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.strip() == "['_pip_trustshim_boot']"
