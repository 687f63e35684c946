"""Real third-party servers for the components tier: squid, nginx and pypiserver.

Nothing here was written for the tests: Debian's squid (``squid-openssl``)
with ssl-bump as a corporate TLS-intercepting proxy, a "rogue" squid that
re-signs with the internal CA, nginx terminating TLS (and checking client
certificates) in front of two pypiservers, and the tools ``export`` feeds
(curl, git, uv, requests) and the venv makers ``seed`` serves (virtualenv,
tox). The suite installs what the registry has (:func:`tools_venv`) and
starts every server itself (:class:`Components`):

* every server listens on 127.0.0.1 only, on a free port, and runs as the
  current user from a private directory (configuration, logs, state) under
  pytest's tmp dir; the fixture stops it. squid will not run as root: for
  root it runs in a user namespace (``unshare --map-user``) where the current
  user is an ordinary uid, so it neither drops to ``proxy`` nor needs root;
* the names (``pypi.public.test``, ``pypi.corp.test``) exist only in squid's
  own ``hosts_file``: clients reach them through squid (CONNECT), the
  machine's ``/etc/hosts`` and DNS are never touched, and no client
  resolves them itself;
* the bumping squid *splices* ``pypi.corp.test`` (passes the TLS through
  without decrypting it: the client's certificate then reaches nginx) and
  bumps every other name with the proxy CA; the rogue squid bumps every name
  with the internal CA.

A missing program or a server that cannot start is a loud skip with the
reason (``TRUSTSHIM_COMPONENTS_REQUIRED=1``, which ``.ci/run`` sets, turns it
into a failure), never a pass.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, NoReturn, Optional, Sequence, Tuple

import pytest
import trustme

from lib.dists import make_setuptools_sdist, make_wheel
from lib.interpreters import find_python, python_env_var
from lib.venvs import _build_venv, _locked, cache_root, download_wheel, scrubbed_env, wheel_cache

#: the tools the tier installs from the package registry (one venv, see tools_venv)
TOOLS = (
    "pypiserver==2.4.2",
    "uv==0.13.9",
    "virtualenv==20.39.1",  # 21.x no longer makes Python 3.8 environments
    "tox==4.48.1",  # the newest tox that runs with virtualenv 20.x
    "requests==2.34.2",
)
#: real wheels the public index serves: the build requirements of the setuptools sdist
BUILD_WHEELS = ("setuptools==75.3.0", "wheel==0.45.1")  # the newest for Python 3.8
#: real wheels the public index serves for a first install from a checkout: the build
#: backend of pyproject.toml (hatchling) and its requirements, the newest that run on
#: every Python of the tier (hatchling 1.33 needs 3.10); tomli is for Python < 3.11
BACKEND_WHEELS = (
    "hatchling==1.27.0",
    "packaging==26.2",
    "pathspec==0.12.1",
    "pluggy==1.5.0",
    "tomli==2.5.0",
    "trove-classifiers==2026.9.21.13",
)
#: the project's own requirements, served by the public index as the wheel cache has them
DEPENDENCIES = (("certifi", "3.8"), ("truststore", "3.11"))
TOOLS_PYTHON = "3.11"
SQUID = "/usr/sbin/squid"
CERTGEN = "/usr/lib/squid/security_file_certgen"
NGINX = "/usr/sbin/nginx"
PUBLIC, PRIVATE = "pypi.public.test", "pypi.corp.test"
CLIENT_NAME = "trustshim components client"


def unavailable(reason: str) -> NoReturn:
    """Skip loudly, or fail where the tier is required (CI)."""
    if os.environ.get("TRUSTSHIM_COMPONENTS_REQUIRED") == "1":
        pytest.fail(f"components tier required, but {reason}", pytrace=False)
    pytest.skip(f"components tier: {reason}")


def interpreter(version: str) -> Path:
    """CPython ``version``, or a loud skip (a failure where the tier is required)."""
    found = find_python(version)
    if found is None:
        unavailable(f"CPython {version} not found (set {python_env_var(version)} or install it)")
    return found


def require_programs() -> None:
    """squid with ssl-bump, its certificate generator, nginx, curl, git and, for root, unshare."""
    wanted = {SQUID: "squid-openssl", CERTGEN: "squid-openssl", NGINX: "nginx"}
    for path, package in wanted.items():
        if not os.access(path, os.X_OK):
            unavailable(f"{path} is missing (apt-get install {package})")
    for program in ("curl", "git", "openssl") + (("unshare",) if os.geteuid() == 0 else ()):
        if shutil.which(program) is None:
            unavailable(f"{program} is not on PATH")
    version = subprocess.run([SQUID, "-v"], capture_output=True, text=True).stdout
    if "--with-openssl" not in version:
        unavailable("this squid has no OpenSSL (ssl-bump): install squid-openssl")


#: the prefix that runs a command with no network at all (a network namespace of its
#: own, whose loopback is down), as .ci/release runs the offline install
OFFLINE = ("unshare", "-rn")


def require_no_network() -> None:
    """That OFFLINE can run a command here."""
    if shutil.which("unshare") is None:
        unavailable("unshare is not on PATH")
    done = subprocess.run([*OFFLINE, "true"], capture_output=True, text=True)
    if done.returncode != 0:
        unavailable(f"no network namespace of its own here (unshare -rn): {done.stderr.strip()}")


def tools_venv() -> Path:
    """A venv with TOOLS (from the registry, once, with this machine's environment), and
    the wheels the public index serves in the wheel cache. Cached under the test cache."""
    path = cache_root() / "components-tools"
    marker = path / ".trustshim-tools"
    wanted = "\n".join(TOOLS) + "\n"
    with _locked(cache_root() / "components-tools.lock"):
        for requirement in BUILD_WHEELS + BACKEND_WHEELS:
            download_wheel(requirement, "3.8")
        dependency_wheels()
        if marker.exists() and marker.read_text() == wanted:
            return path
        python = interpreter(TOOLS_PYTHON)
        _build_venv(path, python, TOOLS_PYTHON, "26.3")
        command = [str(path / "bin" / "python"), "-m", "pip", "install", "-q"]
        done = subprocess.run(
            [*command, "--disable-pip-version-check", *TOOLS],
            capture_output=True,
            text=True,
            timeout=900,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            unavailable(f"cannot install {' '.join(TOOLS)}: {done.stderr.strip()[-500:]}")
        marker.write_text(wanted)
    return path


def cached_wheels(requirement: str) -> List[Path]:
    """The wheel cache's wheels of ``requirement``: ``NAME==VERSION``, or ``NAME`` (every
    version there). None is a failure: :func:`tools_venv` downloaded them."""
    name, _, version = requirement.partition("==")
    stem = re.sub(r"[-_.]+", "_", name).lower()  # as a wheel's file name spells it
    found = sorted(wheel_cache().glob(f"{stem}-{version or '*'}-*.whl"))
    assert found, f"no wheel of {requirement} in {wheel_cache()}"
    return found


def dependency_wheels() -> List[Path]:
    """The wheel cache's wheels of the project's requirements, downloaded once."""
    for requirement, python_version in DEPENDENCIES:
        download_wheel(requirement, python_version)
    return [wheel for name, _ in DEPENDENCIES for wheel in cached_wheels(name)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


class Server:
    """One server process, started in its own directory, stopped by :meth:`stop`."""

    def __init__(self, name: str, argv: List[str], port: int, directory: Path) -> None:
        self.name, self.port, self.directory = name, port, directory
        self.output = directory / f"{name}.out"
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                argv,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while not _listening(port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                unavailable(f"{name} did not start ({' '.join(argv)}):\n{self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self) -> str:
        logs = [self.output, *sorted(self.directory.glob("*.log"))]
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in logs if p.exists())

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; the process (and its helpers) is gone after."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@dataclass
class TierPki:
    """The tier's PKI: the public web's CA, the internal CA, the proxy's CA."""

    dir: Path
    public_ca: trustme.CA
    internal_ca: trustme.CA
    proxy_ca: trustme.CA

    def pem(self, name: str, ca: trustme.CA) -> Path:
        path = self.dir / f"{name}.pem"
        if not path.exists():
            ca.cert_pem.write_to_path(str(path))
        return path

    @property
    def public_pem(self) -> Path:
        return self.pem("public-ca", self.public_ca)

    @property
    def internal_pem(self) -> Path:
        return self.pem("internal-ca", self.internal_ca)

    @property
    def proxy_pem(self) -> Path:
        return self.pem("proxy-ca", self.proxy_ca)

    @property
    def client_pem(self) -> Path:
        """A client certificate and key issued by the internal CA."""
        path = self.dir / "client.pem"
        if not path.exists():
            cert = self.internal_ca.issue_cert("client.corp.test", common_name=CLIENT_NAME)
            cert.private_key_and_cert_chain_pem.write_to_path(str(path))
        return path

    def key_pair(self, name: str, ca: trustme.CA) -> Tuple[Path, Path]:
        """A CA's certificate and key files, for a squid that signs with it."""
        cert, key = self.dir / f"{name}-cert.pem", self.dir / f"{name}-key.pem"
        ca.cert_pem.write_to_path(str(cert))
        ca.private_key_pem.write_to_path(str(key))
        return cert, key

    def leaf(self, name: str, ca: trustme.CA) -> Tuple[Path, Path]:
        """A server certificate chain and key for ``name``."""
        issued = ca.issue_cert(name)
        chain, key = self.dir / f"{name}.chain.pem", self.dir / f"{name}.key.pem"
        chain.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        issued.private_key_pem.write_to_path(str(key))
        return chain, key


def make_tier_pki(directory: Path) -> TierPki:
    directory.mkdir(parents=True, exist_ok=True)
    return TierPki(
        directory,
        trustme.CA(organization_name="public web CA"),
        trustme.CA(organization_name="corp internal CA"),
        trustme.CA(organization_name="corp proxy CA"),
    )


def _squid_argv(config: Path) -> List[str]:
    argv = [SQUID, "-N", "-f", str(config)]
    if os.geteuid() == 0:  # squid refuses root: be an ordinary uid in a user namespace
        argv = ["unshare", "--user", "--map-user=1000", "--map-group=1000", *argv]
    return argv


def start_squid(
    directory: Path, signer: Sequence[Path], upstream_cas: Path, splice: Sequence[str]
) -> Server:
    """A squid bumping every name but ``splice``, re-signing with ``signer`` (cert, key)."""
    directory.mkdir(parents=True)
    hosts = directory / "hosts"
    hosts.write_text(f"127.0.0.1 {PUBLIC} {PRIVATE}\n")
    database = directory / "ssl_db"
    done = subprocess.run(
        [CERTGEN, "-c", "-s", str(database), "-M", "4MB"], capture_output=True, text=True
    )
    if done.returncode != 0:
        unavailable(f"{CERTGEN} cannot make its database: {done.stderr.strip()}")
    port = free_port()
    cert, key = signer
    lines = [
        f"http_port 127.0.0.1:{port} ssl-bump tls-cert={cert} tls-key={key}"
        " generate-host-certificates=on dynamic_cert_mem_cache_size=4MB",
        f"sslcrtd_program {CERTGEN} -s {database} -M 4MB",
        "sslcrtd_children 3 startup=1 idle=1",
        "acl step1 at_step SslBump1",
        "ssl_bump peek step1",
    ]
    if splice:
        lines += [f"acl spliced ssl::server_name {' '.join(splice)}", "ssl_bump splice spliced"]
    lines += [
        "ssl_bump bump all",
        f"tls_outgoing_options cafile={upstream_cas}",
        f"hosts_file {hosts}",
        "dns_nameservers 127.0.0.1",
        "udp_incoming_address 127.0.0.1",
        "udp_outgoing_address 127.0.0.1",
        "acl loopback src 127.0.0.1/32",
        "http_access allow loopback",
        "http_access deny all",
        "cache deny all",
        "visible_hostname squid.test",
        f"pid_filename {directory / 'squid.pid'}",
        f"cache_log {directory / 'cache.log'}",
        "logformat trust %ts %>a %rm %ru %>Hs %ssl::bump_mode sni=%ssl::>sni"
        " client_cert=%ssl::>cert_subject",
        f"access_log stdio:{directory / 'access.log'} trust",
        f"coredump_dir {directory}",
        "pinger_enable off",
        "netdb_filename none",
        "shutdown_lifetime 0 seconds",
    ]
    config = directory / "squid.conf"
    config.write_text("\n".join(lines) + "\n")
    check = subprocess.run(
        [SQUID, "-k", "parse", "-f", str(config)], capture_output=True, text=True
    )
    if check.returncode != 0:
        unavailable(f"squid cannot parse its configuration: {check.stderr.strip()[-1000:]}")
    return Server("squid", _squid_argv(config), port, directory)


def start_pypiserver(tools: Path, directory: Path, packages: Path) -> Server:
    """pypiserver serving ``packages`` (no fallback to the real index, no uploads)."""
    directory.mkdir(parents=True)
    port = free_port()
    argv = [str(tools / "bin" / "pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port)]
    argv += ["--disable-fallback", "-a", ".", "-P", ".", "--hash-algo", "sha256", str(packages)]
    return Server("pypiserver", argv, port, directory)


@dataclass
class Site:
    """One nginx server block: a name, its certificate, what it serves."""

    name: str
    chain: Path
    key: Path
    upstream: int
    client_ca: Optional[Path] = None
    git_root: Optional[Path] = None


def start_nginx(directory: Path, sites: Sequence[Site]) -> Tuple[Server, Dict[str, int]]:
    """nginx with one TLS server per site (in front of its pypiserver), and their ports."""
    directory.mkdir(parents=True)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / "tmp" / sub).mkdir(parents=True)
    ports = {site.name: free_port() for site in sites}
    servers = []
    for site in sites:
        block = [
            f"listen 127.0.0.1:{ports[site.name]} ssl;",
            f"server_name {site.name};",
            f"ssl_certificate {site.chain};",
            f"ssl_certificate_key {site.key};",
        ]
        if site.client_ca is not None:
            block += [f"ssl_client_certificate {site.client_ca};", "ssl_verify_client on;"]
        if site.git_root is not None:
            block += [f"location /git/ {{ alias {site.git_root}/; }}"]
        block += [
            "location / {",
            f"  proxy_pass http://127.0.0.1:{site.upstream};",
            "  proxy_set_header Host $http_host;",
            "}",
        ]
        servers.append("server {\n  " + "\n  ".join(block) + "\n}")
    temp = directory / "tmp"
    config = f"""daemon off;
master_process off;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} info;
events {{ worker_connections 64; }}
http {{
  default_type application/octet-stream;
  log_format trust '$server_name $ssl_client_verify "$ssl_client_s_dn" "$request" $status';
  access_log {directory / "access.log"} trust;
  client_body_temp_path {temp / "body"};
  proxy_temp_path {temp / "proxy"};
  fastcgi_temp_path {temp / "fastcgi"};
  uwsgi_temp_path {temp / "uwsgi"};
  scgi_temp_path {temp / "scgi"};
{chr(10).join(servers)}
}}
"""
    path = directory / "nginx.conf"
    path.write_text(config)
    argv = [NGINX, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(path)]
    check = subprocess.run([*argv, "-t"], capture_output=True, text=True)
    if check.returncode != 0:
        unavailable(f"nginx refuses its configuration: {check.stderr.strip()[-1000:]}")
    server = Server("nginx", argv, ports[sites[0].name], directory)
    for port in ports.values():
        if not _listening(port):
            server.stop()
            unavailable(f"nginx does not listen on 127.0.0.1:{port}:\n{server.log_tail()}")
    return server, ports


def make_git_repository(bare: Path, home: Path) -> None:
    """A bare repository with one commit, served by nginx as files ("dumb" HTTP)."""
    work = bare.parent / "work"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@corp.test",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@corp.test",
    }
    work.mkdir(parents=True)
    (work / "README").write_text("served by nginx\n")
    for command in (
        ["git", "init", "-q", "-b", "main", str(work)],
        ["git", "-C", str(work), "add", "README"],
        ["git", "-C", str(work), "commit", "-q", "-m", "one"],
        ["git", "clone", "-q", "--bare", str(work), str(bare)],
        ["git", "-C", str(bare), "update-server-info"],
    ):
        subprocess.run(command, env=env, check=True, capture_output=True)


class Components:
    """Everything the tier runs: two pypiservers, nginx in front of both, two squids.

    ``url(PUBLIC)``/``url(PRIVATE)``: the indexes as clients name them;
    ``squid``/``rogue``: the proxies' ``http://127.0.0.1:PORT``. The public
    index serves tinypkg, the setuptools sdist ``buildme``, the real
    setuptools and wheel wheels, and what a first install of the project
    from a checkout fetches (hatchling and its requirements, certifi,
    truststore); the private one ``corppkg`` (which needs tinypkg). nginx
    checks a client certificate from the internal CA on every request to the
    private index.
    """

    def __init__(self, root: Path, tools: Path) -> None:
        self.root = root
        self.tools = tools
        self.pki = make_tier_pki(root / "pki")
        self.servers: List[Server] = []
        self.ports: Dict[str, int] = {}
        self.squid = self.rogue = ""

    def start(self) -> None:
        public, private = self.root / "public-packages", self.root / "private-packages"
        make_wheel(public, "tinypkg", "1.0")
        make_setuptools_sdist(public, "buildme", "1.0")
        served = [w for r in BUILD_WHEELS + BACKEND_WHEELS for w in cached_wheels(r)]
        for found in served + dependency_wheels():
            shutil.copy(found, public)
        make_wheel(private, "corppkg", "1.0", requires=["tinypkg"])
        git_root = self.root / "git"
        make_git_repository(git_root / "tools.git", self.root)
        upstreams = [
            start_pypiserver(self.tools, self.root / n, d)
            for n, d in (("pypiserver-public", public), ("pypiserver-private", private))
        ]
        self.servers += upstreams
        pki = self.pki
        sites = [
            Site(PUBLIC, *pki.leaf(PUBLIC, pki.public_ca), upstreams[0].port, git_root=git_root),
            Site(
                PRIVATE,
                *pki.leaf(PRIVATE, pki.internal_ca),
                upstreams[1].port,
                client_ca=pki.internal_pem,
            ),
        ]
        nginx, self.ports = start_nginx(self.root / "nginx", sites)
        self.servers.append(nginx)
        upstream_cas = self.root / "upstream-cas.pem"
        upstream_cas.write_text(pki.public_pem.read_text() + pki.internal_pem.read_text())
        bumping = start_squid(
            self.root / "squid", pki.key_pair("proxy-ca", pki.proxy_ca), upstream_cas, [PRIVATE]
        )
        self.servers.append(bumping)
        rogue = start_squid(
            self.root / "rogue", pki.key_pair("internal-ca", pki.internal_ca), upstream_cas, []
        )
        self.servers.append(rogue)
        self.squid = f"http://127.0.0.1:{bumping.port}"
        self.rogue = f"http://127.0.0.1:{rogue.port}"

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()

    def url(self, name: str, path: str = "simple/") -> str:
        return f"https://{name}:{self.ports[name]}/{path}"

    def squid_log(self) -> List[str]:
        return (self.root / "squid" / "access.log").read_text().splitlines()

    def nginx_log(self) -> List[str]:
        return (self.root / "nginx" / "access.log").read_text().splitlines()


@contextlib.contextmanager
def running(root: Path, tools: Path) -> Iterator[Components]:
    """The started components; every server is stopped on the way out."""
    require_programs()
    components = Components(root, tools)
    try:
        components.start()
        yield components
    finally:
        components.stop()


def scrubbed(venv_bin: Path, home: Path, **extra: str) -> Dict[str, str]:
    """A scrubbed environment (``lib.venvs.scrubbed_env``) for any tool."""
    return scrubbed_env(venv_bin, home, extra=extra)
