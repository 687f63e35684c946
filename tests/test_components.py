"""The components tier: real pip against servers and tools nobody here wrote.

Debian's squid with ssl-bump as the corporate TLS-intercepting proxy, a rogue
squid re-signing with the internal CA, nginx (TLS, client certificates) in
front of pypiserver, a git repository over HTTPS, curl, git, uv and requests
fed by ``export``, and venvs made by ``python -m venv``, virtualenv and tox
(``lib.components`` starts them; docs/testing.md "The components tier").

Opt-in: ``pytest -m components`` (``tox -e components``, which ``.ci/run``
runs after installing squid-openssl and nginx). A component that cannot be
installed or started skips the tier loudly with the reason.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from lib.components import (
    CLIENT_NAME,
    OFFLINE,
    PRIVATE,
    PUBLIC,
    Components,
    dependency_wheels,
    interpreter,
    require_no_network,
    running,
    scrubbed,
    tools_venv,
)
from lib.docs import marked_block
from lib.venvs import REPO_ROOT, Venv, bare_venv, copy_checkout, make_venv, wheel_cache
from pip_trustshim import __version__

pytestmark = pytest.mark.components

#: The first install as the README gives it (its fenced block marked
#: ``<!-- first-install -->``), one command per route: /path/to/pip-trustshim is
#: the checkout, /path/to/proxy-ca.pem the proxy's CA, and ``dist`` the folder of
#: wheels that `tox -e release` leaves, in the working directory.
FIRST_COMMANDS = [
    line
    for line in marked_block(REPO_ROOT / "README.md", "first-install").splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
FIRST_INSTALL = {"offline" if "--no-index" in c else "from a checkout": c for c in FIRST_COMMANDS}
#: What the README said until now, never to be given again: a pip before 25.0 keeps
#: --cert from the build subprocess that fetches the build backend (hatchling).
CERT_OPTION = "python -m pip install --cert /path/to/proxy-ca.pem /path/to/pip-trustshim"
CHECKOUT, PROXY_CA = "/path/to/pip-trustshim", "/path/to/proxy-ca.pem"

#: (CPython, pip) pairs of the tier: the oldest pip, the default run's two
PAIRS = [("3.8", "20.3.4"), ("3.11", "23.2.1"), ("3.13", "26.3")]
REFUSED = "CERTIFICATE_VERIFY_FAILED"


@pytest.fixture(scope="module")
def tools() -> Path:
    """The venv with pypiserver, uv, virtualenv, tox and requests (skips when it cannot be had)."""
    return tools_venv()


@pytest.fixture(scope="module")
def components(tmp_path_factory: pytest.TempPathFactory, tools: Path) -> Iterator[Components]:
    with running(tmp_path_factory.mktemp("components"), tools) as started:
        yield started


@pytest.fixture(scope="module", params=PAIRS, ids=[f"py{py}-pip{pip}" for py, pip in PAIRS])
def pair(request: pytest.FixtureRequest, project_wheel: Path) -> Venv:
    """The cached venv of one pair, with the project installed (a missing CPython is a
    failure where the tier is required)."""
    python_version, pip_version = request.param
    interpreter(python_version)
    return make_venv(python_version, pip_version, project_wheel)


def corporate(c: Components) -> Dict[str, str]:
    """The shim as a corporate user sets it: certifi plus the proxy's CA; the private
    index trusts only the internal CA and gets the client certificate."""
    return {
        "PIP_TRUSTSHIM": "1",
        "PIP_TRUSTSHIM_STORE": "certifi",
        "PIP_TRUSTSHIM_EXTRA_CA": str(c.pki.proxy_pem),
        "PIP_TRUSTSHIM_HOST_CA": f"{PRIVATE} {c.pki.internal_pem}",
        "PIP_TRUSTSHIM_HOST_CLIENT_CERT": f"{PRIVATE} {c.pki.client_pem}",
    }


def stores(c: Components, home: Path) -> Dict[str, Dict[str, str]]:
    """Each store mode, trusting the proxy's CA: the OS store (SSL_CERT_FILE holds it,
    SSL_CERT_DIR is empty), certifi plus extra-ca, a bundle."""
    empty = home / "empty-cert-dir"
    empty.mkdir(exist_ok=True)
    on = {"PIP_TRUSTSHIM": "1"}
    return {
        "system": {
            **on,
            "PIP_TRUSTSHIM_STORE": "system",
            "SSL_CERT_FILE": str(c.pki.proxy_pem),
            "SSL_CERT_DIR": str(empty),
        },
        "certifi+extra-ca": {
            **on,
            "PIP_TRUSTSHIM_STORE": "certifi",
            "PIP_TRUSTSHIM_EXTRA_CA": str(c.pki.proxy_pem),
        },
        "bundle": {**on, "PIP_TRUSTSHIM_STORE": str(c.pki.proxy_pem)},
    }


def pip(
    venv: Venv, home: Path, args: List[str], proxy: str, env: Dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``python -m pip ARGS`` through ``proxy`` (HTTPS_PROXY), no retries."""
    extra = {"HTTPS_PROXY": proxy, **env}
    return venv.pip([*args[:1], "--retries", "0", "--timeout", "30", *args[1:]], home, env=extra)


def download(
    venv: Venv, home: Path, url: str, proxy: str, env: Dict[str, str], *more: str
) -> subprocess.CompletedProcess[str]:
    dest = home / "dl"
    args = ["download", "--no-deps", "-d", str(dest), "--index-url", url, *more, "tinypkg"]
    return pip(venv, home, args, proxy, env)


def accepted(proc: subprocess.CompletedProcess[str]) -> bool:
    """True for success; False for a certificate refusal; anything else fails the test."""
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        return True
    assert REFUSED in out or "certificate verify failed" in out.lower(), out
    return False


def since(lines: List[str], before: int) -> List[str]:
    return lines[before:]


# ----------------------------------------------------------- the bumping squid


def test_behind_the_bumping_squid_pip_needs_the_shim_and_every_store_works(
    pair: Venv, components: Components, home: Path
) -> None:
    """Plain pip is refused; with the shim, each store trusting the proxy's CA installs a
    wheel and builds an sdist whose build requirements (setuptools, wheel) come from the
    index through squid, in pip's isolated build environment."""
    c = components
    public = c.url(PUBLIC)
    plain = download(pair, home, public, c.squid, {})
    assert not accepted(plain)
    for mode, env in stores(c, home).items():
        before = len(c.squid_log())
        out = home / f"wheels-{mode}"
        args = ["wheel", "-v", "--no-deps", "--no-cache-dir", "-w", str(out)]
        args += ["--index-url", public, "buildme", "tinypkg"]
        proc = pip(pair, home, args, c.squid, env)
        assert proc.returncode == 0, (mode, proc.stdout + proc.stderr)
        # the shim's trust, not pip's own (pip 26.3 alone reads SSL_CERT_FILE too)
        store = env["PIP_TRUSTSHIM_STORE"]
        said = proc.stdout + proc.stderr
        assert f"  store: {store} (from environment variable PIP_TRUSTSHIM_STORE)" in said
        built = sorted(p.name for p in out.iterdir())
        assert built == ["buildme-1.0-py3-none-any.whl", "tinypkg-1.0-py3-none-any.whl"], built
        log = since(c.squid_log(), before)
        for project in ("buildme", "setuptools", "wheel"):  # the build env's requests too
            assert any(f"GET {public}{project}/ 200 bump" in line for line in log), (project, log)


def test_one_install_from_a_public_and_a_private_index_with_a_client_certificate(
    pair: Venv, components: Components, home: Path
) -> None:
    """corppkg (private index: internal CA, client certificate) needs tinypkg (public
    index, through the bumping proxy). squid splices the private host, so nginx checks
    the client certificate on every private request and squid never sees it."""
    c = components
    env = corporate(c)
    index = ["--index-url", c.url(PUBLIC), "--extra-index-url", c.url(PRIVATE)]
    squid, nginx = len(c.squid_log()), len(c.nginx_log())
    target = home / "target"
    install = ["install", "--no-cache-dir", "--target", str(target), *index, "corppkg"]
    proc = pip(pair, home, install, c.squid, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "corppkg.py").is_file() and (target / "tinypkg.py").is_file()
    private = [line for line in since(c.nginx_log(), nginx) if line.startswith(PRIVATE + " ")]
    assert private, c.nginx_log()
    for line in private:
        assert line.startswith(f'{PRIVATE} SUCCESS "CN={CLIENT_NAME},'), line
    assert any('"GET /simple/corppkg/ HTTP/1.1" 200' in line for line in private), private
    log = since(c.squid_log(), squid)
    assert any(f"CONNECT {PRIVATE}:" in line and " splice " in line for line in log), log
    assert not [line for line in log if f"{PRIVATE}:" in line and " splice " not in line], log
    assert all(line.endswith(" client_cert=-") for line in log), log
    # Without the entry's certificate, nginx refuses every private request.
    nginx = len(c.nginx_log())
    bare = {k: v for k, v in env.items() if k != "PIP_TRUSTSHIM_HOST_CLIENT_CERT"}
    proc = pip(
        pair,
        home,
        ["download", "--no-deps", "-d", str(home / "x"), *index, "corppkg"],
        c.squid,
        bare,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    refused = [line for line in since(c.nginx_log(), nginx) if line.startswith(PRIVATE + " ")]
    assert refused and all(
        line.startswith(f'{PRIVATE} NONE "-"') and line.endswith(" 400") for line in refused
    ), refused


def test_through_the_rogue_squid_the_internal_ca_is_refused_for_the_public_name(
    pair: Venv, components: Components, home: Path
) -> None:
    """The rogue squid re-signs pypi.public.test with the internal CA, which the shim
    trusts for pypi.corp.test only. Stock pip given that CA accepts it (the proxy works)."""
    c = components
    proc = download(pair, home, c.url(PUBLIC), c.rogue, corporate(c))
    assert not accepted(proc)
    stock = download(pair, home, c.url(PUBLIC), c.rogue, {}, "--cert", str(c.pki.internal_pem))
    assert accepted(stock)


# ------------------------------------------------------------------------ check


def check_and_download(
    venv: Venv, home: Path, c: Components, env: Dict[str, str], package: str
) -> Tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """``pip-trustshim check --package PACKAGE`` and ``pip download PACKAGE``, both through
    the bumping squid with pip's indexes from ``env``: they agree (exit 0 together)."""
    extra = {"HTTPS_PROXY": c.squid, **env}
    checked = venv.run(["-m", "pip_trustshim", "check", "--package", package], home, env=extra)
    args = ["download", "-d", str(home / "check-dl"), "--no-cache-dir", package]
    downloaded = pip(venv, home, args, c.squid, env)
    both = f"--- check\n{checked.stdout}{checked.stderr}--- pip\n{downloaded.stdout}"
    both += downloaded.stderr
    assert "Traceback" not in both and checked.returncode in (0, 1), both
    assert (checked.returncode == 0) == (downloaded.returncode == 0), both
    return checked, downloaded


def test_check_says_what_pip_meets_behind_the_real_squid_and_nginx(
    pair: Venv, components: Components, home: Path
) -> None:
    """check against what nobody here wrote: squid's forged chain, squid's own error page
    for a host it cannot reach, nginx's 400 for a missing client certificate; each time
    pip download of the same project fails too, and both pass once the trust is right."""
    c = components
    indexes = {"PIP_INDEX_URL": c.url(PUBLIC), "PIP_EXTRA_INDEX_URL": c.url(PRIVATE)}
    env = {**corporate(c), **indexes}
    checked, _ = check_and_download(pair, home, c, env, "corppkg")
    assert checked.returncode == 0, checked.stdout
    assert f"OK  {c.url(PRIVATE)}corppkg/ 200 (via {c.squid}; " in checked.stdout
    # squid's chain, its CA not trusted
    no_proxy_ca = {k: v for k, v in env.items() if k != "PIP_TRUSTSHIM_EXTRA_CA"}
    checked, _ = check_and_download(pair, home, c, no_proxy_ca, "tinypkg")
    assert f"FAIL  {c.url(PUBLIC)}tinypkg/: self-signed certificate in chain" in checked.stdout
    # nginx's 400: the private index wants a client certificate that is not configured
    no_client_cert = {k: v for k, v in env.items() if k != "PIP_TRUSTSHIM_HOST_CLIENT_CERT"}
    checked, _ = check_and_download(pair, home, c, no_client_cert, "corppkg")
    line = f"FAIL  {c.url(PRIVATE)}corppkg/ 400: client certificate required"
    assert line in checked.stdout, checked.stdout
    assert "answered by: Server: 'nginx" in checked.stdout, checked.stdout
    # a server squid cannot reach (nothing listens on port 1): squid answers inside the
    # TLS it bumped, with its forged certificate
    nowhere = {**env, "PIP_INDEX_URL": f"https://{PUBLIC}:1/simple/"}
    nowhere.pop("PIP_EXTRA_INDEX_URL")
    checked, _ = check_and_download(pair, home, c, nowhere, "tinypkg")
    assert ": a proxy answered (via " in checked.stdout, checked.stdout
    assert "X-Squid-Error: 'ERR_" in checked.stdout, checked.stdout


# --------------------------------------------------------- export, other tools


def curl(c: Components, home: Path, bundle: Path, url: str, proxy: str) -> bool:
    command = ["curl", "-sS", "-o", "/dev/null", "--cacert", str(bundle), "--proxy", proxy, url]
    done = subprocess.run(
        command, env=scrubbed(Path("/usr/bin"), home), capture_output=True, text=True, timeout=60
    )
    assert done.returncode in (0, 60), done.stderr  # 60: the peer's certificate was refused
    return done.returncode == 0


def git(c: Components, home: Path, bundle: Path, proxy: str) -> bool:
    """git clone over HTTPS, the bundle given for that URL only (``http.<url>.sslCAInfo``)."""
    base = c.url(PUBLIC, "")
    dest = home / "clone"
    shutil.rmtree(dest, ignore_errors=True)
    command = ["git", "-c", f"http.{base}.sslCAInfo={bundle}", "-c", f"http.proxy={proxy}"]
    command += ["clone", "-q", c.url(PUBLIC, "git/tools.git"), str(dest)]
    env = scrubbed(Path("/usr/bin"), home, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode == 0:
        assert (dest / "README").read_text() == "served by nginx\n"
        return True
    assert "certificate" in done.stderr.lower(), done.stderr
    return False


def uv(c: Components, home: Path, bundle: Path, proxy: str) -> bool:
    """uv resolving tinypkg from the public index, trusting SSL_CERT_FILE."""
    command = [str(c.tools / "bin" / "uv"), "pip", "compile", "-", "--no-cache", "-q"]
    command += ["--index-url", c.url(PUBLIC), "--python-version", "3.11", "--no-header"]
    env = scrubbed(
        c.tools / "bin",
        home,
        HTTPS_PROXY=proxy,
        SSL_CERT_FILE=str(bundle),
        UV_PYTHON_DOWNLOADS="never",
    )
    done = subprocess.run(
        command, input="tinypkg\n", env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode == 0:
        assert "tinypkg==1.0" in done.stdout, done.stdout
        return True
    assert "certificate" in done.stderr.lower() or "UnknownIssuer" in done.stderr, done.stderr
    return False


def requests_get(c: Components, home: Path, bundle: Path, proxy: str) -> bool:
    """A requests script, trusting REQUESTS_CA_BUNDLE."""
    code = "import sys, requests; print(requests.get(sys.argv[1], timeout=30).status_code)"
    command = [str(c.tools / "bin" / "python"), "-c", code, c.url(PUBLIC)]
    env = scrubbed(c.tools / "bin", home, HTTPS_PROXY=proxy, REQUESTS_CA_BUNDLE=str(bundle))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode == 0:
        assert done.stdout.strip() == "200", done.stdout
        return True
    assert REFUSED in done.stderr, done.stderr
    return False


def test_the_export_makes_curl_git_uv_and_requests_agree_with_pip(
    pair: Venv, components: Components, home: Path
) -> None:
    """Through the bumping squid (proxy CA: trusted) and the rogue one (internal CA: not
    for the public name), every tool fed the export accepts exactly what pip accepts."""
    c = components
    env = corporate(c)
    bundle = home / "trust.pem"
    proc = pair.run(["-m", "pip_trustshim", "export", "-o", str(bundle)], home, env=env)
    assert proc.returncode == 0, proc.stderr
    verdicts: Dict[str, Tuple[bool, ...]] = {}
    for route, proxy in (("bumping squid", c.squid), ("rogue squid", c.rogue)):
        expected = accepted(download(pair, home, c.url(PUBLIC), proxy, env))
        verdicts[route] = (
            expected,
            curl(c, home, bundle, c.url(PUBLIC), proxy),
            git(c, home, bundle, proxy),
            uv(c, home, bundle, proxy),
            requests_get(c, home, bundle, proxy),
        )
    everyone = ("pip", "curl", "git", "uv", "requests")
    assert verdicts == {"bumping squid": (True,) * 5, "rogue squid": (False,) * 5}, [
        (route, dict(zip(everyone, found))) for route, found in verdicts.items()
    ]


# ------------------------------------------------------------------------ seed


def virtualenv(c: Components, pair: Venv, path: Path, home: Path) -> Venv:
    """A venv made by virtualenv, offline, with the pair's pip (from the wheel cache)."""
    python = Path(os.path.realpath(pair.python))
    command = [str(c.tools / "bin" / "virtualenv"), "--no-download", "--no-periodic-update"]
    command += ["--extra-search-dir", str(wheel_cache()), "--pip", pair.pip_version]
    command += ["--no-setuptools", "--no-wheel", "-p", str(python), str(path)]
    done = subprocess.run(
        command, env=scrubbed(c.tools / "bin", home), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Venv.at(path, pair.python_version, pair.pip_version)


def test_seed_serves_venvs_made_by_venv_and_virtualenv(
    pair: Venv, components: Components, home: Path, tmp_path: Path
) -> None:
    """Each new venv's pip is refused behind the bumping squid; after seed it works."""
    c = components
    env = corporate(c)
    made = {
        "venv": bare_venv(pair.python_version, pair.pip_version, tmp_path / "by-venv", home),
        "virtualenv": virtualenv(c, pair, tmp_path / "by-virtualenv", home),
    }
    for maker, target in made.items():
        assert not accepted(download(target, home, c.url(PUBLIC), c.squid, env)), maker
        proc = pair.run(["-m", "pip_trustshim", "seed", str(target.path)], home, env=env)
        assert proc.returncode == 0, (maker, proc.stdout + proc.stderr)
        assert proc.stdout.splitlines()[-1] == "pip-trustshim is on there already", proc.stdout
        assert accepted(download(target, home, c.url(PUBLIC), c.squid, env)), maker


#: docs/cli.md's tox recipe (its block marked ``<!-- tox-recipe -->``)
TOX_RECIPE = marked_block(REPO_ROOT / "docs" / "cli.md", "tox-recipe")


def tox_ini(python: str, index: str) -> str:
    """The recipe's ``[testenv]`` as documented, for an env ``seeded`` on ``python``, its
    ``commands`` (the project's installs and tests) a download from ``index`` instead."""
    lines = TOX_RECIPE.splitlines()
    assert lines[0] == "[testenv]" and "commands_pre = pip-trustshim seed {envdir}" in lines
    kept = [line for line in lines if not line.startswith(("commands =", " "))]
    download = f"python -m pip download --no-deps -d {{envtmpdir}}/dl --index-url {index} tinypkg"
    return "\n".join(
        ["[tox]", "env_list = seeded", "skipsdist = true", "", *kept]
        + [f"basepython = {python}", f"commands = {download}", "", "[testenv:seeded]", ""]
    )


def test_seed_in_tox_commands_pre_serves_the_installs_in_commands(
    pair: Venv, components: Components, home: Path, tmp_path: Path
) -> None:
    """docs/cli.md's tox recipe: tox makes the env (virtualenv, the pair's pip),
    commands_pre seeds it, commands installs through the bumping squid."""
    c = components
    project = tmp_path / "project"
    project.mkdir()
    python = os.path.realpath(pair.python)
    (project / "tox.ini").write_text(tox_ini(python, c.url(PUBLIC)))
    env = scrubbed(
        c.tools / "bin",
        home,
        HTTPS_PROXY=c.squid,
        VIRTUALENV_PIP=pair.pip_version,
        VIRTUALENV_EXTRA_SEARCH_DIR=str(wheel_cache()),
        VIRTUALENV_NO_DOWNLOAD="1",
        VIRTUALENV_NO_PERIODIC_UPDATE="1",
        VIRTUALENV_NO_SETUPTOOLS="1",
        VIRTUALENV_NO_WHEEL="1",
        PIP_RETRIES="0",
        **corporate(c),
    )
    env["PATH"] = f"{pair.bin}{os.pathsep}{env['PATH']}"  # the pip-trustshim the recipe runs
    command = [str(c.tools / "bin" / "tox"), "-c", str(project / "tox.ini"), "-e", "seeded"]
    command += ["--workdir", str(tmp_path / "toxwork")]
    done = subprocess.run(
        command, env=env, cwd=project, capture_output=True, text=True, timeout=600
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "pip-trustshim is on there already" in out, out
    assert "Saved " in out and "tinypkg-1.0-py3-none-any.whl" in out, out
    seeded = Venv.at(tmp_path / "toxwork" / "seeded", pair.python_version, pair.pip_version)
    version = seeded.pip(["--version"], home)
    assert version.stdout.startswith(f"pip {pair.pip_version} "), version.stdout


# --------------------------------------------------------------- the first install


def documented(line: str, checkout: Path, proxy_ca: Path) -> Tuple[Dict[str, str], List[str]]:
    """A command of FIRST_INSTALL with the user's paths: its ``NAME=value`` words (the
    environment) and its words after ``python``."""
    words = [
        word.replace(CHECKOUT, str(checkout)).replace(PROXY_CA, str(proxy_ca))
        for word in shlex.split(line)
    ]
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "python", line
    return env, words[1:]


def shim_version(venv: Venv, home: Path, prefix: Tuple[str, ...] = ()) -> str:
    """What the installed ``pip-trustshim --version`` says (it must succeed)."""
    command = [*prefix, str(venv.bin / "pip-trustshim"), "--version"]
    done = subprocess.run(
        command, env=scrubbed(venv.bin, home), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def installed_here(venv: Venv) -> str:
    """``pip-trustshim --version`` of the project installed in ``venv``."""
    where = venv.site_packages() / "pip_trustshim"
    return f"pip-trustshim {__version__} from {where} (python {venv.python_version})"


def test_the_first_install_from_a_checkout_behind_the_bumping_squid(
    pair: Venv, components: Components, tmp_path: Path
) -> None:
    """A new venv without the shim, behind squid, trusting the proxy only through its CA
    file. pip install --cert CA CHECKOUT: refused in the build subprocess fetching
    hatchling before pip 25.0, which does not hand it --cert; installs from 25.0 on.
    The docs' PIP_CERT=CA reaches that subprocess: it installs on every pip, and the shim,
    switched on with the proxy's CA in the OS store, then lets plain pip through."""
    c = components
    checkout = tmp_path / "pip-trustshim"
    copy_checkout(checkout)
    public = c.url(PUBLIC)
    # the user's network: the proxy, an index (pypi.org's stand-in); no retries
    network = {"HTTPS_PROXY": c.squid, "PIP_INDEX_URL": public, "PIP_RETRIES": "0"}
    hatchling = f"GET {public}hatchling/ 200 bump"
    forwards_cert = tuple(int(x) for x in pair.pip_version.split(".")[:2]) >= (25, 0)

    home = tmp_path / "home-cert-option"
    home.mkdir()
    env, args = documented(CERT_OPTION, checkout, c.pki.proxy_pem)
    target = bare_venv(pair.python_version, pair.pip_version, tmp_path / "cert-option", home)
    before = len(c.squid_log())
    proc = target.run(args, home, env={**network, **env})
    out = proc.stdout + proc.stderr
    log = since(c.squid_log(), before)
    if forwards_cert:
        assert proc.returncode == 0, out
        assert any(hatchling in line for line in log), log
        assert shim_version(target, home) == installed_here(target)
    else:
        assert proc.returncode != 0, out
        refusals = [
            line
            for line in out.splitlines()
            if f"{public}hatchling/" in line and "CERTIFICATE_VERIFY_FAILED" in line
        ]
        assert "Installing build dependencies: finished with status 'error'" in out, out
        assert refusals, out  # the build subprocess's fetch of hatchling, refused
        assert not [line for line in log if hatchling in line], log
        assert not (target.bin / "pip-trustshim").exists()

    home = tmp_path / "home-pip-cert"
    home.mkdir()
    assert len(FIRST_COMMANDS) == len(FIRST_INSTALL) == 2, FIRST_COMMANDS  # both routes, once
    env, args = documented(FIRST_INSTALL["from a checkout"], checkout, c.pki.proxy_pem)
    assert env == {"PIP_CERT": str(c.pki.proxy_pem)}, env
    target = bare_venv(pair.python_version, pair.pip_version, tmp_path / "pip-cert", home)
    before = len(c.squid_log())
    proc = target.run(args, home, env={**network, **env})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = since(c.squid_log(), before)
    for project in ("hatchling", "certifi"):  # the build's requests, and the install's
        assert any(f"GET {public}{project}/ 200 bump" in line for line in log), (project, log)
    assert shim_version(target, home) == installed_here(target)
    # Installed, off: plain pip is refused; on, with the proxy's CA in the OS store: through.
    assert not accepted(download(target, home, public, c.squid, {}))
    assert accepted(download(target, home, public, c.squid, stores(c, home)["system"]))


def test_the_offline_install_of_the_release_wheels_needs_no_network(
    pair: Venv, project_wheel: Path, tmp_path: Path, home: Path
) -> None:
    """The docs' offline install, from the dist/ that `tox -e release` makes (the sdist,
    the wheel, certifi's and truststore's wheels), in a network namespace of its own:
    no network at all, not even loopback."""
    require_no_network()
    checkout = tmp_path / "pip-trustshim"
    copy_checkout(checkout)
    dist = checkout / "dist"
    dist.mkdir()
    sdist = [sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(dist)]
    done = subprocess.run(sdist, cwd=checkout, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.copy(project_wheel, dist)
    for wheel in dependency_wheels():
        shutil.copy(wheel, dist)
    target = bare_venv(pair.python_version, pair.pip_version, tmp_path / "offline", home)
    with socket.socket() as listening:  # proof of the namespace: this cannot be reached
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        reach = f"import socket; socket.create_connection(('127.0.0.1', {port}), 5)"
        assert target.run(["-c", reach], home).returncode == 0
        unreachable = subprocess.run(
            [*OFFLINE, str(target.python), "-c", reach],
            env=scrubbed(target.bin, home),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert unreachable.returncode != 0
        assert "Network is unreachable" in unreachable.stderr, unreachable.stderr
    env, args = documented(FIRST_INSTALL["offline"], checkout, tmp_path / "unused.pem")
    assert env == {}, env
    proc = subprocess.run(
        [*OFFLINE, str(target.python), *args],
        env=scrubbed(target.bin, home),
        cwd=checkout,  # where dist/ is, as the README's relative --find-links dist wants
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert shim_version(target, home, OFFLINE) == installed_here(target)
    listed = target.pip(["list", "--format=freeze"], home).stdout.splitlines()
    names = sorted(line.split("==")[0].lower() for line in listed)
    wanted = ["certifi", "pip", "pip-trustshim"]
    if tuple(int(x) for x in pair.python_version.split(".")) >= (3, 10):
        wanted.append("truststore")
    assert names == sorted(wanted), listed
