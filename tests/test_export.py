"""End to end: ``pip-trustshim export`` and ``pip -v``, docs/specification.md
"Command line".

The exported bundle is given to other real clients (Python's ``ssl`` with
``cafile=``, and curl when the machine has it): they must accept exactly the
servers that pip with the shim accepts, and refuse the others.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from lib.pki import Pki
from lib.running import UNKNOWN_ISSUER, assert_downloaded, assert_refused, download, shim
from lib.servers import TlsIndex
from lib.venvs import Venv
from pip_trustshim import stores

PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n.*?\n-----END CERTIFICATE-----\n", re.S)


@pytest.fixture
def proxy_signed(pki: Pki, dists: Path) -> Iterator[TlsIndex]:
    """A server whose certificate comes from the third CA (the proxies')."""
    context = pki.named_context(pki.proxy_ca, "localhost", "127.0.0.1")
    with TlsIndex(pki, dists, context=context) as server:
        yield server


def export(
    venv: Venv, home: Path, env: Dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return venv.run(["-m", "pip_trustshim", "export", *args], home, env=env)


def python_accepts(bundle: Path, server: TlsIndex) -> bool:
    """Python's ssl, trusting only the exported bundle."""
    context = ssl.create_default_context(cafile=str(bundle))
    try:
        with socket.create_connection(("localhost", server.port), timeout=10) as sock:
            with context.wrap_socket(sock, server_hostname="localhost"):
                return True
    except ssl.SSLCertVerificationError:
        return False


def curl_accepts(bundle: Path, server: TlsIndex) -> bool:
    command = ["curl", "--silent", "--output", "/dev/null", "--cacert", str(bundle)]
    command += ["--noproxy", "*", server.url]
    done = subprocess.run(command, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert done.returncode in (0, 60), done  # 60: the certificate was not accepted
    return done.returncode == 0


def test_the_exported_bundle_trusts_exactly_what_pip_trusts(
    venv: Venv,
    home: Path,
    pki: Pki,
    index: TlsIndex,
    other_index: TlsIndex,
    proxy_signed: TlsIndex,
) -> None:
    """system (here: OpenSSL's default file is the corp CA) + an extra CA + PIP_CERT."""
    empty_dir = home / "no-certs"
    empty_dir.mkdir()
    env = shim(
        "system",
        SSL_CERT_FILE=str(pki.ca_pem),
        SSL_CERT_DIR=str(empty_dir),
        PIP_TRUSTSHIM_EXTRA_CA=str(pki.ca_pem),  # the same CA twice: exported once
        PIP_CERT=str(pki.proxy_ca_pem),
    )
    bundle = home / "out" / "trust.pem"
    proc = export(venv, home, env, "-o", str(bundle))
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
    assert proc.stderr == f"wrote 2 certificates to {bundle}\n"
    assert oct(bundle.stat().st_mode & 0o777) == "0o644"
    text = bundle.read_text()
    assert [block for block in PEM.findall(text)] == [
        pki.ca.cert_pem.bytes().decode(),
        pki.proxy_ca.cert_pem.bytes().decode(),
    ]
    verdicts = {}
    for name, server in (("corp", index), ("other", other_index), ("proxy", proxy_signed)):
        proc = download(venv, home, server.url, env=env)
        verdicts[name] = proc.returncode == 0
        if verdicts[name]:
            assert_downloaded(proc, home)
        else:
            assert_refused(proc, home, UNKNOWN_ISSUER)
        assert python_accepts(bundle, server) is verdicts[name], name
        if shutil.which("curl"):
            assert curl_accepts(bundle, server) is verdicts[name], name
    assert verdicts == {"corp": True, "other": False, "proxy": True}


def test_each_certificate_once_with_its_comment_in_a_stable_order(
    venv: Venv, home: Path, pki: Pki
) -> None:
    both = home / "both.pem"
    both.write_text(pki.other_ca_pem.read_text() + pki.ca_pem.read_text())
    env = shim(str(both), PIP_TRUSTSHIM_EXTRA_CA=f"{pki.ca_pem}:{pki.other_ca_pem}")
    first, second = export(venv, home, env).stdout, export(venv, home, env).stdout
    drop_time = re.compile(r"built .* UTC from:")
    assert drop_time.sub("", first) == drop_time.sub("", second)
    lines = first.splitlines()
    assert lines[0] == "# pip-trustshim export: what pip trusts for a host with no host-ca entry"
    assert lines[1].startswith("# 2 certificates, built ")
    assert lines[2:5] == [
        f"#   trustshim.store (environment variable PIP_TRUSTSHIM_STORE): {both}",
        f"#   trustshim.extra-ca (environment variable PIP_TRUSTSHIM_EXTRA_CA): {pki.ca_pem}",
        f"#   trustshim.extra-ca (environment variable PIP_TRUSTSHIM_EXTRA_CA): {pki.other_ca_pem}",
    ]
    blocks = PEM.findall(first)
    assert blocks == [pki.other_ca.cert_pem.bytes().decode(), pki.ca.cert_pem.bytes().decode()]
    for block in blocks:
        der = ssl.PEM_cert_to_DER_cert(block)
        digest = hashlib.sha256(der).hexdigest().upper()
        fingerprint = ":".join(digest[i : i + 2] for i in range(0, 64, 2))
        comment = first.split(block)[0].rstrip("\n").splitlines()[-1]
        assert comment.startswith("# ") and comment.endswith(f"sha256 {fingerprint}"), comment
        assert "O=trustshim" in comment


def test_export_while_off_says_so_and_a_bad_setting_writes_nothing(
    venv: Venv, home: Path, pki: Pki
) -> None:
    proc = export(venv, home, {"PIP_TRUSTSHIM_STORE": str(pki.ca_pem)})
    assert proc.returncode == 0 and PEM.findall(proc.stdout), proc.stderr
    assert proc.stderr.startswith("pip-trustshim is off: exporting what pip would trust")
    target = home / "trust.pem"
    proc = export(venv, home, shim(str(home / "missing.pem")), "-o", str(target))
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    (line,) = proc.stderr.splitlines()
    assert line.startswith("pip-trustshim: trustshim.store = "), line
    assert not target.exists()
    target.write_text("kept\n")
    proc = export(venv, home, shim(str(home / "missing.pem")), "-o", str(target))
    assert proc.returncode == 2 and target.read_text() == "kept\n"


# --------------------------------------------------------------------- pip -v


def test_pip_v_shows_the_trust_once_and_the_default_verbosity_nothing(
    venv: Venv, home: Path, index: TlsIndex, pki: Pki
) -> None:
    env = shim(
        str(pki.ca_pem),
        PIP_TRUSTSHIM_EXTRA_CA=str(pki.other_ca_pem),
        PIP_TRUSTSHIM_HOST_CA=f"pypi.corp.test {pki.proxy_ca_pem}",
        REQUESTS_CA_BUNDLE=str(pki.proxy_ca_pem),
        PIP_DISABLE_PIP_VERSION_CHECK="0",  # a second session: still said once
    )
    quiet = download(venv, home, index.url, env=env)
    assert_downloaded(quiet, home)
    assert "pip-trustshim" not in quiet.stdout + quiet.stderr
    loud = download(venv, home, index.url, env=env, args=["-v"])
    assert_downloaded(loud, home)
    out = loud.stdout + loud.stderr
    assert out.count("pip-trustshim is on; the trust it applies") == 1, out
    expected: List[str] = [
        f"store: {pki.ca_pem} (from environment variable PIP_TRUSTSHIM_STORE)",
        f"extra CA: {pki.other_ca_pem} (from environment variable PIP_TRUSTSHIM_EXTRA_CA)",
        f"pip's CA bundle: {pki.proxy_ca_pem} (from environment variable REQUESTS_CA_BUNDLE)",
        f"host-ca: pypi.corp.test -> {pki.proxy_ca_pem} "
        "(from environment variable PIP_TRUSTSHIM_HOST_CA)",
    ]
    for line in expected:
        assert line in out, out


def subject_hash(pem: Path) -> str:
    """OpenSSL's hashed name for a CA file (``1a2b3c4d``)."""
    command = ["openssl", "x509", "-hash", "-noout", "-in", str(pem)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def test_a_dangling_symlink_in_a_hashed_directory_is_skipped_and_named_under_v(
    venv: Venv, home: Path, pki: Pki, proxy_signed: TlsIndex
) -> None:
    """A CA file deleted without update-ca-certificates leaves a dangling hashed link:
    OpenSSL (so pip) passes over it, and so does export, in the system store's
    directory and in a hashed directory named as the store."""
    hashed = home / "certs"
    hashed.mkdir()
    (hashed / f"{subject_hash(pki.proxy_ca_pem)}.0").write_bytes(pki.proxy_ca_pem.read_bytes())
    dangling = hashed / "0badc0de.0"
    dangling.symlink_to(home / "deleted-ca.pem")
    system = shim("system", SSL_CERT_FILE=str(pki.ca_pem), SSL_CERT_DIR=str(hashed))
    for env, expected in ((system, [pki.ca, pki.proxy_ca]), (shim(str(hashed)), [pki.proxy_ca])):
        assert_downloaded(download(venv, home, proxy_signed.url, env=env), home)
        proc = export(venv, home, env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "", proc.stderr
        assert PEM.findall(proc.stdout) == [ca.cert_pem.bytes().decode() for ca in expected]
        loud = export(venv, home, env, "-v")
        assert loud.returncode == 0 and loud.stdout.count("BEGIN CERTIFICATE") == len(expected)
        skipped = f"  skipped {dangling}: a dangling symbolic link (OpenSSL skips it too)"
        assert skipped in loud.stderr.splitlines(), loud.stderr


def test_a_fifo_in_the_systems_hashed_directory_is_never_read(
    venv: Venv, home: Path, pki: Pki
) -> None:
    """A FIFO with a hashed name in the OS store's directory: export neither hangs nor
    reads it, and names it under -v (a store naming that directory is refused)."""
    hashed = home / "certs"
    hashed.mkdir()
    (hashed / f"{subject_hash(pki.proxy_ca_pem)}.0").write_bytes(pki.proxy_ca_pem.read_bytes())
    fifo = hashed / "0badc0de.0"
    os.mkfifo(fifo)
    env = shim("system", SSL_CERT_FILE=str(pki.ca_pem), SSL_CERT_DIR=str(hashed))
    loud = export(venv, home, env, "-v")
    assert loud.returncode == 0, loud.stderr
    assert PEM.findall(loud.stdout) == [
        ca.cert_pem.bytes().decode() for ca in (pki.ca, pki.proxy_ca)
    ]
    assert f"  skipped {fifo}: {stores.SPECIAL}" in loud.stderr.splitlines(), loud.stderr
    refused = export(venv, home, shim(str(hashed)))
    assert refused.returncode == 2 and "is not a regular file" in refused.stderr, refused.stderr


def test_export_o_writes_through_a_symlink_as_enable_does(venv: Venv, home: Path, pki: Pki) -> None:
    real = home / "shared" / "trust.pem"
    real.parent.mkdir()
    real.write_text("old\n")
    link = home / "trust.pem"
    link.symlink_to(real)
    proc = export(venv, home, shim(str(pki.ca_pem)), "-o", str(link))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        f"{link} is a symbolic link: wrote its target, {real}",
        f"wrote 1 certificate to {real}",
    ]
    assert link.is_symlink() and link.resolve() == real
    assert PEM.findall(real.read_text()) == [pki.ca.cert_pem.bytes().decode()]


def test_export_leaves_out_every_host_ca_bundle(venv: Venv, home: Path, pki: Pki) -> None:
    """A host-ca bundle is trusted for its host only: never part of the general rule."""
    env = shim(
        str(pki.ca_pem),
        PIP_TRUSTSHIM_HOST_CA=f"pypi.corp.test {pki.other_ca_pem}; *.build.test={pki.proxy_ca_pem}",
    )
    proc = export(venv, home, env)
    assert proc.returncode == 0, proc.stderr
    assert PEM.findall(proc.stdout) == [pki.ca.cert_pem.bytes().decode()]
    assert str(pki.other_ca_pem) not in proc.stdout and str(pki.proxy_ca_pem) not in proc.stdout


def test_export_never_takes_certifi_from_the_working_directory(
    venv: Venv, home: Path, pki: Pki
) -> None:
    """``python -m`` puts the working directory first on ``sys.path``: a ``certifi``
    planted there (a download folder) is never the store ``certifi`` names."""
    planted = home / "downloads" / "certifi"
    planted.mkdir(parents=True)
    (planted / "__init__.py").write_text(f"def where():\n    return {str(pki.other_ca_pem)!r}\n")
    command = ["-m", "pip_trustshim", "export"]
    proc = venv.run(command, home, env=shim("certifi"), cwd=planted.parent)
    assert proc.returncode == 0, proc.stderr
    installed = venv.site_packages() / "certifi" / "cacert.pem"
    assert f"\n#   certifi: {installed}\n" in proc.stdout, proc.stdout[:1000]
    assert pki.other_ca.cert_pem.bytes().decode() not in proc.stdout
    assert len(PEM.findall(proc.stdout)) == installed.read_text().count("-----BEGIN CERTIFICATE")
