"""The docs' transcripts are real output, and the docs hold together (docs/testing.md
"The docs' transcripts").

Every fenced block marked ``<!-- transcript: NAME -->`` in README.md or docs/
is made here by a story: real commands, typed as a user types them (``sh -c``,
``pip-trustshim ...``, ``pip ...``), in the newest default pair's venv with
the project installed, a HOME and pip files of the story's own, against
servers on loopback. The output (stdout and stderr as a terminal shows them,
then ``[exit N]``), with what changes from run to run replaced by the docs'
placeholders (:class:`lib.docs.Placeholders`: ``/home/me``, ``PORT``,
``11:11:...``), must equal the block. With ``TRUSTSHIM_UPDATE_DOCS=1`` the
blocks are rewritten from the runs instead (then read the diff).

Also: every marked block has a story and every story a block; every
relative link and anchor resolves; the README is a first read.
"""

from __future__ import annotations

import difflib
import inspect
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

import pytest

from lib.docs import (
    FENCED,
    REPO_ROOT,
    Placeholders,
    anchors,
    doc_files,
    links,
    rewrite,
    transcripts,
)
from lib.interpreters import stand_in
from lib.pki import Pki, dated_ca_pem
from lib.running import DEFAULT_PIPS
from lib.servers import ConnectProxy, TlsIndex
from lib.venvs import (
    Venv,
    bare_venv,
    cache_root,
    fresh_venv,
    make_venv,
    scrubbed_env,
    without_machine_config,
)
from pip_trustshim.status import HEADLINES

UPDATE = os.environ.get("TRUSTSHIM_UPDATE_DOCS") == "1"
#: the pair the transcripts come from: the newest default one (a stand-in where missing)
PAIR = stand_in(DEFAULT_PIPS)[0][-1]


class Shell:
    """Commands typed into a shell whose PATH starts with ``venv``'s ``bin``.

    HOME is the story's own; pip reads the usual files there (the user file
    ``~/.config/pip/pip.conf``, global files under ``~/xdg``), never this
    machine's. ``env`` is the rest of the environment, not shown.
    """

    def __init__(self, venv: Venv, home: Path, env: Optional[Dict[str, str]] = None) -> None:
        self.venv = venv
        self.home = home
        self.env = {
            "XDG_CONFIG_DIRS": str(home / "xdg"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "PYTHONUNBUFFERED": "1",  # stdout and stderr in the order they were written
            **(env or {}),
        }

    def run(self, *commands: str) -> str:
        """Each command as ``$ COMMAND``, its output and ``[exit N]``, a blank line between."""
        return "\n".join(self._one(command) for command in commands)

    def _one(self, command: str) -> str:
        done = subprocess.run(
            without_machine_config(["sh", "-c", command], ""),
            env=scrubbed_env(self.venv.bin, self.home, "", self.env),
            cwd=str(self.home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        return f"$ {command}\n{done.stdout}[exit {done.returncode}]\n"

    def user_file(self, text: str) -> Path:
        """Write the user's pip.conf."""
        path = self.home / ".config" / "pip" / "pip.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def copy(self, source: Path, name: str) -> str:
        """``source`` copied into HOME as ``name``; its path."""
        shutil.copyfile(source, self.home / name)
        return str(self.home / name)


@pytest.fixture(scope="module")
def pair_venv(project_wheel: Path) -> Venv:
    """The newest default pair's cached venv, with the project."""
    return make_venv(*PAIR, project_wheel)


@pytest.fixture
def shell(pair_venv: Venv, tmp_path: Path) -> Shell:
    home = tmp_path / "home"
    home.mkdir()
    return Shell(pair_venv, home)


Story = Callable[..., Dict[str, str]]
STORIES: Dict[str, Tuple[Story, Tuple[str, ...]]] = {}


def story(*names: str) -> Callable[[Story], Story]:
    """A story makes the transcripts ``names`` (one test each story)."""

    def register(make: Story) -> Story:
        STORIES[make.__name__] = (make, names)
        return make

    return register


def index_file(shell: Shell, index: TlsIndex, more: str = "") -> None:
    """A user file whose ``[global]`` section names ``index``, as the docs say."""
    shell.user_file(f"[global]\nindex-url = {index.url}\n{more}")


DOWNLOAD = "pip download --no-deps --retries 0 -d dl tinypkg"


@story("pip-fails", "check-fails", "enable", "status", "check-passes", "check-json", "enable-json")
def session(shell: Shell, pki: Pki, dists: Path) -> Dict[str, str]:
    """docs/diagnosing.md's session, behind a TLS-intercepting proxy's chain."""
    with TlsIndex(pki, dists, leaf="self-signed-chain") as index:
        index_file(shell, index)
        return {
            "pip-fails": shell.run(DOWNLOAD),
            "check-fails": shell.run("pip-trustshim check --save-root proxy-root.pem"),
            "enable": shell.run(
                "pip-trustshim enable --extra-ca proxy-root.pem", "cat ~/.config/pip/pip.conf"
            ),
            "status": shell.run("pip-trustshim status"),
            "check-passes": shell.run("pip-trustshim check --package tinypkg", DOWNLOAD),
            "check-json": shell.run("pip-trustshim check --json --package tinypkg"),
            "enable-json": shell.run("pip-trustshim enable --extra-ca proxy-root.pem --json"),
        }


@story("check-another-store", "check-client-cert", "check-proxy-answered", "pip-vv-400")
def check_failures(shell: Shell, pki: Pki, dists: Path) -> Dict[str, str]:
    """docs/diagnosing.md's other failures, the shim on with the corporate CA as an
    extra CA in the user file; and pip -vv before a server that wants a client
    certificate."""
    corp = shell.copy(pki.ca_pem, "corp-ca.pem")
    bump = shell.copy(pki.bump_ca_pem, "bump-ca.pem")
    me = shell.copy(pki.client_cert_pem(), "me.pem")
    with TlsIndex(pki, dists) as index, TlsIndex(pki, dists, nginx_client_cert=True) as nginx:
        index_file(shell, index, f"[trustshim]\nenabled = yes\nextra-ca = {corp}\n")
        host = f"localhost:{nginx.port}"
        made = {
            "check-another-store": shell.run(
                f"SSL_CERT_FILE={corp} PIP_TRUSTSHIM_EXTRA_CA= PIP_TRUSTSHIM_STORE=certifi "
                "pip-trustshim check"
            ),
            "check-client-cert": shell.run(
                f"pip-trustshim check --package tinypkg {nginx.url}",
                f"PIP_TRUSTSHIM_HOST_CLIENT_CERT={host}={me} "
                f"pip-trustshim check --package tinypkg {nginx.url}",
            ),
            "pip-vv-400": shell.run(
                f"pip download --no-deps --retries 0 -d dl --index-url {nginx.url} tinypkg",
                f"pip -vv download --no-deps --retries 0 -d dl --index-url {nginx.url} tinypkg "
                "2>&1 | grep ' 400 '",
            ),
        }
    with ConnectProxy(bump=pki.bump_context()) as proxy:
        made["check-proxy-answered"] = shell.run(
            f"HTTPS_PROXY={proxy.url} pip-trustshim check",
            f"HTTPS_PROXY={proxy.url} PIP_TRUSTSHIM_EXTRA_CA={corp}:{bump} pip-trustshim check",
        )
    return made


@story("enable-hosts", "status-hosts", "status-json", "check-hosts")
def hosts(shell: Shell, pki: Pki, dists: Path) -> Dict[str, str]:
    """docs/cli.md: per-host entries in enable, status and check -v."""
    internal = shell.copy(pki.ca_pem, "internal-ca.pem")
    me = shell.copy(pki.client_cert_pem(), "me.pem")
    with TlsIndex(pki, dists, nginx_client_cert=True) as index:
        index_file(shell, index)
        host = f"localhost:{index.port}"
        return {
            "enable-hosts": shell.run(
                f"pip-trustshim enable --host-ca pypi.corp.example={internal} \\\n"
                f"    --host-ca '*.build.corp.example={internal}' \\\n"
                f"    --host-client-cert pypi.corp.example={me}",
                "cat ~/.config/pip/pip.conf",
            ),
            "status-hosts": shell.run("pip-trustshim status"),
            "status-json": shell.run("pip-trustshim status --json"),
            "check-hosts": shell.run(
                f"PIP_TRUSTSHIM_HOST_CA={host}={internal} "
                f"PIP_TRUSTSHIM_HOST_CLIENT_CERT={host}={me} \\\n"
                "    pip-trustshim check -v --package tinypkg"
            ),
        }


@story("status-warnings")
def warnings(shell: Shell, pki: Pki) -> Dict[str, str]:
    """docs/cli.md's warnings: a mistyped key and variable, an old CA, a client
    certificate behind a proxy."""
    old = dated_ca_pem(shell.home / "old-proxy-ca.pem", "Corp Proxy CA", -400, 365)
    me = shell.copy(pki.client_cert_pem(), "me.pem")
    shell.user_file(
        f"[trustshim]\nenable = yes\nextra-ca = {old}\nhost-client-cert = pypi.corp.example {me}\n"
    )
    return {
        "status-warnings": shell.run(
            "PIP_TRUSTSHIM_STOR=certifi HTTPS_PROXY=http://proxy.corp.example:3128 "
            "pip-trustshim status"
        )
    }


@story("pip-v")
def pip_v(shell: Shell, pki: Pki, dists: Path) -> Dict[str, str]:
    """docs/cli.md: the shim's lines in ``pip -v`` (only those: pip's own are many)."""
    proxy_ca = shell.copy(pki.ca_pem, "proxy-ca.pem")
    internal = shell.copy(pki.other_ca_pem, "internal-ca.pem")
    me = shell.copy(pki.client_cert_pem(), "me.pem")
    with TlsIndex(pki, dists) as index:
        index_file(shell, index)
        out = shell.run(
            f"PIP_TRUSTSHIM=1 PIP_TRUSTSHIM_EXTRA_CA={proxy_ca} PIP_CERT={proxy_ca} "
            f"PIP_TRUSTSHIM_HOST_CA=pypi.corp.example={internal} "
            f"PIP_TRUSTSHIM_HOST_CLIENT_CERT=pypi.corp.example={me} PIP_TRUSTSHIM_STOR=certifi "
            + DOWNLOAD.replace("pip ", "pip -v ", 1)
        )
    lines = out[out.index("pip-trustshim is on;") :].splitlines()
    end = next(i for i, line in enumerate(lines[1:], 1) if not line.startswith("  "))
    return {"pip-v": "\n".join(lines[:end]) + "\n"}


@story("pip-stops", "config-file-errors")
def stops(shell: Shell, pki: Pki, dists: Path) -> Dict[str, str]:
    """docs/diagnosing.md: when pip stops, and what still runs."""
    (shell.home / "bad.conf").write_text("[global\ntimeout = 60\n")
    internal = shell.copy(pki.ca_pem, "internal-ca.pem")
    with TlsIndex(pki, dists) as index:
        index_file(shell, index)
        stopped = shell.run(
            f"PIP_TRUSTSHIM=1 PIP_TRUSTSHIM_STORE=/etc/corp/ca.pem {DOWNLOAD}",
            f"PIP_TRUSTSHIM=maybe {DOWNLOAD}",
            f"PIP_TRUSTSHIM=1 PIP_TRUSTSHIM_HOST_CA='pypi.corp.example:99999 {internal}' "
            f"{DOWNLOAD}",
            "PIP_TRUSTSHIM=1 PIP_TRUSTSHIM_STORE=/etc/corp/ca.pem pip --version",
        )
        files = shell.run(
            f"PIP_TRUSTSHIM=1 PIP_CONFIG_FILE=/nowhere/pip.conf {DOWNLOAD}",
            f"PIP_TRUSTSHIM=1 PIP_CONFIG_FILE=~/bad.conf {DOWNLOAD}",
            f"PIP_CONFIG_FILE=~/bad.conf {DOWNLOAD}",
        )
        assert index.connections == 0
    return {"pip-stops": stopped, "config-file-errors": files}


@story("damaged")
def damaged(shell: Shell, project_wheel: Path, pki: Pki, dists: Path) -> Dict[str, str]:
    """docs/diagnosing.md: a module of the package deleted, and the repair."""
    venv = fresh_venv(shell.home / "venv", *PAIR, project_wheel)
    wheel = shell.copy(project_wheel, project_wheel.name)
    (venv.site_packages() / "pip_trustshim" / "stores.py").unlink()
    damaged = Shell(venv, shell.home)
    with TlsIndex(pki, dists) as index:
        index_file(damaged, index)
        made = damaged.run(
            f"PIP_TRUSTSHIM=1 {DOWNLOAD}",
            "PIP_TRUSTSHIM=1 pip --version",
            "PIP_TRUSTSHIM=1 pip-trustshim status",
            f"PIP_TRUSTSHIM=0 pip install --force-reinstall --no-deps {wheel}",
        )
        assert index.connections == 0
    return {"damaged": made}


@story("seed", "seed-refused")
def seed(shell: Shell) -> Dict[str, str]:
    """docs/cli.md: seed into a new venv, and what it refuses."""
    target = bare_venv(*PAIR, shell.home / "target", shell.home)
    bare_venv(*PAIR, shell.home / "nopip", shell.home, with_pip=False)
    (shell.home / "notes").mkdir()
    (shell.home / "notes" / "todo.txt").write_text("nothing\n")
    return {
        "seed": shell.run(f"pip-trustshim seed {target.path}"),
        "seed-refused": shell.run(
            "pip-trustshim seed ~/notes",
            "pip-trustshim seed ~/notes/todo.txt",
            "pip-trustshim seed ~/nopip",
        ),
    }


@story("export")
def export(shell: Shell, pki: Pki) -> Dict[str, str]:
    """docs/cli.md: the export's header and comments (each PEM body shortened to ``...``)."""
    internal = shell.copy(pki.ca_pem, "internal-ca.pem")
    proxy = shell.copy(pki.proxy_ca_pem, "proxy-ca.pem")
    out = shell.run(
        f"PIP_TRUSTSHIM_STORE={internal} PIP_TRUSTSHIM_EXTRA_CA={proxy} PIP_CERT={proxy} "
        "pip-trustshim export"
    )
    shortened = re.sub(
        r"(-----BEGIN CERTIFICATE-----\n)[A-Za-z0-9+/=\n]+\n(-----END CERTIFICATE-----)",
        r"\1...\n\2",
        out,
    )
    assert shortened.count("\n...\n") == 2, out
    return {"export": shortened}


@story("version", "enable-refused", "enable-dry-run", "enable-disable")
def configure(shell: Shell, pki: Pki) -> Dict[str, str]:
    """docs/cli.md: --version, enable's refusals, a dry run, enable then disable."""
    internal = shell.copy(pki.ca_pem, "internal-ca.pem")
    shell.user_file("# Written by IT. Do not remove the timeout.\n[global]\ntimeout = 60\n")
    return {
        "version": shell.run("pip-trustshim --version"),
        "enable-refused": shell.run(
            "pip-trustshim enable --store /etc/corp/ca.pem",
            "pip-trustshim enable --store sytem",
            f"pip-trustshim enable --host-ca pypi.corp.example={shell.home}/missing.pem",
            f"pip-trustshim enable --host-client-cert pypi.corp.example={internal}",
        ),
        "enable-dry-run": shell.run("pip-trustshim enable --store certifi --dry-run"),
        "enable-disable": shell.run(
            "pip-trustshim enable --store certifi",
            "pip-trustshim disable",
            "cat ~/.config/pip/pip.conf",
        ),
    }


def placeholders(shell: Shell) -> Placeholders:
    """The story's placeholders: its HOME is ``/home/me``, the pair's venv
    ``/home/me/venv``, and the versions that depend on this machine are words."""
    code = (
        "import importlib.metadata as m, platform; "
        "print(platform.python_version(), m.version('certifi'), m.version('truststore'))"
    )
    done = shell.venv.run(["-c", code], shell.home)
    python, certifi, truststore = done.stdout.split()
    short = ".".join(python.split(".")[:2])
    return Placeholders(
        literal={
            str(shell.venv.path): "/home/me/venv",
            str(shell.home): "/home/me",
            f"python{short}": "python3.X",
            f"(python {short})": "(python 3.X)",
        },
        words={python: "3.X.Y", certifi: "X.Y.Z", truststore: "X.Y.Z"},
    )


@pytest.mark.parametrize("name", sorted(STORIES))
def test_each_transcript_is_what_its_story_prints(
    name: str,
    request: pytest.FixtureRequest,
    shell: Shell,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    make, names = STORIES[name]
    wanted = [arg for arg in inspect.signature(make).parameters if arg != "shell"]
    made = make(shell, **{arg: request.getfixturevalue(arg) for arg in wanted})
    assert sorted(made) == sorted(names), "the story made other transcripts than it names"
    places = placeholders(shell)
    documented = {block.name: block for block in transcripts()}
    private = (str(tmp_path_factory.getbasetemp()), str(REPO_ROOT), str(cache_root()))
    problems = []
    for block_name, raw in made.items():
        text = places.apply(raw)
        for path in private:
            assert path not in text, f"{block_name}: a path left as it is:\n{text}"
        assert block_name in documented, f"no block marked <!-- transcript: {block_name} -->"
        block = documented[block_name]
        if text == block.text:
            continue
        if UPDATE:
            rewrite(block.path, block_name, text)
            continue
        diff = difflib.unified_diff(
            block.text.splitlines(), text.splitlines(), "documented", "printed now", lineterm=""
        )
        problems.append(f"{block.path.name}, transcript {block_name}:\n" + "\n".join(diff))
    assert not problems, "\n\n".join(problems) + "\n(TRUSTSHIM_UPDATE_DOCS=1 rewrites them)"


def test_every_transcript_has_a_story_and_every_story_a_transcript() -> None:
    blocks = [block.name for block in transcripts()]
    told = [name for _, names in STORIES.values() for name in names]
    assert len(set(blocks)) == len(blocks), f"a transcript named twice: {sorted(blocks)}"
    assert len(set(told)) == len(told), f"two stories make one transcript: {sorted(told)}"
    assert set(blocks) == set(told), (
        f"no story: {sorted(set(blocks) - set(told))}; no block: {sorted(set(told) - set(blocks))}"
    )


def _link_problems() -> Iterator[str]:
    for path in doc_files():
        for file_part, anchor in links(path):
            target = (path.parent / file_part).resolve() if file_part else path
            if not target.exists():
                yield f"{path.relative_to(REPO_ROOT)}: {file_part}: no such file"
            elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                yield f"{path.relative_to(REPO_ROOT)}: {file_part}#{anchor}: no such heading"


def test_every_relative_link_and_anchor_resolves() -> None:
    problems = list(_link_problems())
    assert not problems, "\n".join(problems)


def test_the_readme_is_a_first_read() -> None:
    """At most 200 lines, opening with the quick start: pip's two error texts behind
    such a proxy, then install, check, enable, pip install."""
    text = (REPO_ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings[0] == "Quick start", headings
    quick = text[text.index("## Quick start") : text.index(f"## {headings[1]}")]
    steps = [
        "unable to get local issuer certificate",
        "self-signed certificate in certificate chain",
        "pip install",
        "pip-trustshim check",
        "pip-trustshim enable",
        "pip install requests",
    ]
    places = [quick.find(step) for step in steps]
    assert -1 not in places and places == sorted(places), dict(zip(steps, places))


def _stripped(text: str) -> Tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines())


def _long_lines(text: str) -> Set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= 60}


def test_no_message_is_copied_into_two_places() -> None:
    """A long line shown in a block that is not a transcript stands in no other
    block: each message lives in one place, and the others link to it.
    (Transcripts may repeat each other's lines: they are run, not copied.)"""
    real = {(block.path, _stripped(block.text)) for block in transcripts()}
    copied: Dict[str, List[str]] = {}
    run: Set[str] = set()
    for path in doc_files():
        for _, text in re.findall(FENCED, path.read_text(), flags=re.M | re.S):
            if (path, _stripped(text)) in real:
                run |= _long_lines(text)
                continue
            for line in _long_lines(text):
                copied.setdefault(line, []).append(path.name)
    twice = {line: f for line, f in copied.items() if len(f) > 1 or line in run}
    assert not twice, "\n".join(f"{sorted(f)}: {line}" for line, f in twice.items())


def test_the_status_headlines_are_the_ones_cli_md_lists() -> None:
    """Every first line ``status`` can print is listed in docs/cli.md's status section,
    and the section lists no other."""
    text = (REPO_ROOT / "docs" / "cli.md").read_text()
    section = text[text.index("## status") : text.index("\n## ", text.index("## status") + 1)]
    listed = re.findall(r"^  \* `(pip-trustshim [^`]*)`$", section, flags=re.M)
    assert sorted(listed) == sorted(HEADLINES.values())
