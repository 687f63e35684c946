"""Startup and pip benchmark for pip-trustshim (docs/specification.md "Speed"; not a test).

Run it by hand: ``python3 bench/startup.py`` (``--help`` for the run counts).
It needs what the test suite needs (pytest, trustme, hatchling) and, once, the
package registry for the pip-system-certs comparison (``--no-peer`` skips it).

What it compares, always as paired, interleaved runs (the order inside each
pair drawn at random), every child process in an environment built from
scratch (``lib.venvs.scrubbed_env``):

* **startup**: ``python -c pass`` in venvs built the same way from the same
  interpreter, with the same pip and the project wheel installed: ``shim``
  as installed, and ``base``, the judged baseline, whose
  ``pip_trustshim.pth`` holds only a comment line (what reading any
  non-empty ``.pth`` costs: 3.13+ imports ``encodings.utf_8_sig`` to decode
  it; ``_pip_trustshim_boot.py`` stays on disk but is never imported). With
  the switch off (no ``PIP_TRUSTSHIM``) and on (``PIP_TRUSTSHIM=1``), the
  same environment for every arm of a round. Three more twins are measured
  in the same rounds, for reference only (not judged): ``floor``, whose
  ``.pth`` line imports an empty module (the least any ``.pth`` hook can
  cost), ``empty``, with a 0-byte ``pip_trustshim.pth`` (which ``site``
  does not decode), and ``none``, with no ``pip_trustshim.pth`` at all;
  against the last two the report gives microseconds, not ratios.
* **peer**: ``python -c pass`` in a venv with pip-system-certs installed
  (into ``bench/.venvs`` only, from the registry, with this machine's own
  environment) against the ``base`` venv of the same interpreter.
* **pip**: ``pip download --no-deps --no-cache-dir tinypkg`` from a loopback
  TLS index, in the ``shim`` venv: shim on (``PIP_TRUSTSHIM=1
  PIP_TRUSTSHIM_STORE=ca.pem``) against shim off with ``--cert ca.pem``.
* **squid**: the same download through Debian's squid with ssl-bump (the
  components tier's servers, ``tests/lib/components.py``: squid, nginx,
  pypiserver), shim on with the proxy's CA as its store against shim off with
  ``--cert proxy-ca.pem``. Skipped, with the reason, where squid or nginx is
  not installed (``--no-squid`` skips it anyway).
* **scale**: the same ``pip download``, shim on, with a 10,000-entry
  ``host-ca`` table naming five files (one entry for the index, the last):
  in pip.conf, against a pip.conf of the same size whose extra lines sit in
  a section nothing reads (pip itself pays for reading a long file); and in
  ``PIP_TRUSTSHIM_HOST_CA``, against no table. Then ``pip-trustshim status``
  and ``check URL`` with the pip.conf table, timed alone (budget 1 s each).

It prints wall-clock medians, their ratio with a bootstrap 95% interval over
the pairs, the interquartile ranges, and the ratio of the children's median
CPU times (user + system: a cross-check that other load on the machine
disturbs less). It exits 1 when a wall-clock ratio of medians is over its
budget (startup 1.02, pip 1.03, scale 1.02), a command with the large table
takes more than its budget (1 s), or the hook imported anything at startup,
2 when nothing could be measured (none of the chosen CPythons found).

``--python 3.14`` (repeatable) measures only those interpreters; small
``--pairs``/``--warmup``/``--pip-pairs`` make a smoke run. The interpreters
are found as the tests find them (``TRUSTSHIM_PYTHON_3_15=...``, PATH, pyenv).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from lib.components import PUBLIC, Components, running, tools_venv  # noqa: E402
from lib.dists import make_wheel  # noqa: E402
from lib.interpreters import find_python, python_env_var  # noqa: E402
from lib.pki import make_pki  # noqa: E402
from lib.servers import TlsIndex  # noqa: E402
from lib.venvs import Venv, build_project_wheel, fresh_venv, scrubbed_env  # noqa: E402

VENVS = REPO / "bench" / ".venvs"
TARGETS = (("3.11", "23.2.1"), ("3.13", "26.3"), ("3.14", "26.3"), ("3.15", "26.3"))
PEER = "pip-system-certs==5.3"
PEER_TARGET = ("3.13", "26.3")  # pip-system-certs 5.x needs pip >= 24.2
STARTUP_BUDGET, STARTUP_GOAL = 1.02, 1.01
PIP_BUDGET, PIP_GOAL = 1.03, 1.01
SCALE_BUDGET = 1.02
SCALE_ENTRIES = 10000
COMMAND_BUDGET = 1.0  # seconds: status and check with the large table
INF = float("inf")  # budget of a reference line: never judged
HOOK = "_pip_trustshim_boot"
FLOOR = "_bench_floor"  # the empty module the floor twin's .pth imports
BASELINE = "# baseline\n"  # the judged baseline's pip_trustshim.pth: one comment line
TWINS = ("shim", "base", "floor", "empty", "none")


@dataclass
class Comparison:
    """Paired timings (seconds) of one arm against its baseline."""

    label: str
    arm: List[float]
    base: List[float]
    budget: float
    goal: float
    arm_cpu: List[float]
    base_cpu: List[float]
    micros: bool = False  # a reference shown as microseconds over the baseline

    def ratio(self) -> float:
        """Median of the arm over median of the baseline (wall clock): the judged one."""
        return statistics.median(self.arm) / statistics.median(self.base)

    def cpu_ratio(self) -> float:
        """The same for the children's CPU time (user + system), less hurt by other load."""
        return statistics.median(self.arm_cpu) / statistics.median(self.base_cpu)

    def difference(self) -> float:
        """Median of the arm minus median of the baseline, in seconds (wall clock)."""
        return statistics.median(self.arm) - statistics.median(self.base)

    def interval(self, rounds: int = 2000) -> Tuple[float, float]:
        """Bootstrap 95% interval of :meth:`ratio` (or, for ``micros``, of
        :meth:`difference`), resampling whole pairs."""
        rng = random.Random(5)
        n = len(self.arm)
        values = []
        for _ in range(rounds):
            picks = [rng.randrange(n) for _ in range(n)]
            arm = statistics.median(self.arm[i] for i in picks)
            base = statistics.median(self.base[i] for i in picks)
            values.append(arm - base if self.micros else arm / base)
        values.sort()
        return values[int(rounds * 0.025)], values[int(rounds * 0.975) - 1]

    def verdict(self) -> str:
        """``goal``, ``ok`` (within budget), ``OVER BUDGET``, or ``-`` for a reference."""
        ratio = self.ratio()
        if self.budget == INF:
            return "-"
        if ratio <= self.goal:
            return "goal"
        return "ok" if ratio <= self.budget else "OVER BUDGET"

    def line(self) -> str:
        """One report line; times in milliseconds, differences in microseconds."""
        low, high = self.interval()
        if self.micros:
            cpu = statistics.median(self.arm_cpu) - statistics.median(self.base_cpu)
            judged = f"  {_us(self.difference())} [{_us(low)}, {_us(high)}]"
            cross = f"  cpu {_us(cpu)}"
        else:
            judged = f"  ratio {self.ratio():.4f} [{low:.4f}, {high:.4f}]"
            cross = f"  cpu ratio {self.cpu_ratio():.4f}"
        return (
            f"{self.label:<36} n={len(self.arm):<4}"
            f" {_ms(statistics.median(self.arm)):>9} vs {_ms(statistics.median(self.base)):>9}"
            + judged
            + f"  IQR {_ms(_iqr(self.arm))} / {_ms(_iqr(self.base))}"
            + cross
            + (f"  budget {self.budget:.2f}: {self.verdict()}" if self.budget != INF else "")
        )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}ms"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:+.0f}us"


def _iqr(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q3 - q1


def timed(argv: List[str], env: Dict[str, str], log: Path) -> Tuple[float, float]:
    """Wall-clock and CPU seconds of one child (``posix_spawn``, output to ``log``)."""
    out = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log), out, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"exit {code}: {argv}\n{log.read_text(errors='replace')}")
    return elapsed, usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------ venvs


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_venv(name: str, version: str, pip: str, wheel: Optional[Path]) -> Venv:
    """A venv under ``bench/.venvs``, rebuilt unless its marker matches (python, pip, wheel)."""
    path = VENVS / name
    python = find_python(version)
    key = f"{python}|{pip}|{_digest(wheel) if wheel else '-'}\n"
    marker = path / ".bench-key"
    if marker.exists() and marker.read_text() == key:
        return Venv.at(path, version, pip)
    venv = fresh_venv(path, version, pip, wheel)
    marker.write_text(key)
    return venv


def startup_venvs(version: str, pip: str, wheel: Path, home: Path) -> Dict[str, Venv]:
    """Five twins (see :data:`TWINS`): ``shim`` as installed; ``base`` whose
    ``pip_trustshim.pth`` is one comment line; ``floor`` whose ``pip_trustshim.pth``
    imports an empty module (compiled); ``empty`` with a 0-byte ``pip_trustshim.pth``;
    ``none`` without one."""
    venvs = {name: build_venv(f"py{version}-{name}", version, pip, wheel) for name in TWINS}
    (venvs["base"].site_packages() / "pip_trustshim.pth").write_text(BASELINE)
    (venvs["empty"].site_packages() / "pip_trustshim.pth").write_text("")
    (venvs["none"].site_packages() / "pip_trustshim.pth").unlink(missing_ok=True)
    floor = venvs["floor"].site_packages()
    (floor / f"{FLOOR}.py").write_text("")
    (floor / "pip_trustshim.pth").write_text(f"import {FLOOR}\n")
    venvs["floor"].run(["-m", "py_compile", str(floor / f"{FLOOR}.py")], home)
    if not (venvs["shim"].site_packages() / "pip_trustshim.pth").read_text().strip():
        raise RuntimeError(f"{venvs['shim'].path}: pip_trustshim.pth is empty")
    return venvs


def peer_venv(version: str, pip: str) -> Venv:
    """A venv with pip-system-certs, installed with this machine's own environment."""
    path = VENVS / f"py{version}-peer"
    marker = path / ".bench-peer"
    if marker.exists():
        return Venv.at(path, version, pip)
    venv = fresh_venv(path, version, pip, None)
    cmd = [str(venv.python), "-m", "pip", "install", "--disable-pip-version-check", PEER]
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
    marker.write_text(PEER + "\n")
    return venv


# ------------------------------------------------------------- measuring


def paired(
    pairs: int,
    warmup: int,
    arms: Dict[str, Tuple[List[str], Dict[str, str]]],
    log: Path,
    before: Optional[Callable[[], None]] = None,
) -> Dict[str, Tuple[List[float], List[float]]]:
    """Run every arm once per round, in a random order; ``warmup`` rounds are dropped.

    Returns, per arm, the wall-clock and the CPU times, in round order.
    """
    times: Dict[str, Tuple[List[float], List[float]]] = {name: ([], []) for name in arms}
    for round_ in range(warmup + pairs):
        for name in random.sample(list(arms), len(arms)):
            argv, env = arms[name]
            if before is not None:
                before()
            wall, cpu = timed(argv, env, log)
            if round_ >= warmup:
                times[name][0].append(wall)
                times[name][1].append(cpu)
    return times


def compare(
    label: str,
    arm: Tuple[List[float], List[float]],
    base: Tuple[List[float], List[float]],
    budget: float = INF,
    goal: float = INF,
    micros: bool = False,
) -> Comparison:
    """A :class:`Comparison` of two arms measured by :func:`paired`."""
    return Comparison(label, arm[0], base[0], budget, goal, arm[1], base[1], micros)


def bench_startup(
    version: str, venvs: Dict[str, Venv], home: Path, pairs: int, warmup: int
) -> List[Comparison]:
    """``python -c pass`` in each twin, switch off and on: ten arms, interleaved."""
    switches: Dict[str, Dict[str, str]] = {"off": {}, "on": {"PIP_TRUSTSHIM": "1"}}
    arms = {}
    for switch, extra in switches.items():
        for name, venv in venvs.items():
            env = scrubbed_env(venv.bin, home, extra=extra)
            arms[f"{name}-{switch}"] = ([str(venv.python), "-c", "pass"], env)
    times = paired(pairs, warmup, arms, home / "startup.log")
    results = []
    for switch in switches:
        shim, base, floor, empty, none = (times[f"{name}-{switch}"] for name in TWINS)
        label = f"startup {version} switch {switch}"
        results.append(compare(label, shim, base, STARTUP_BUDGET, STARTUP_GOAL))
        results.append(compare(f"  floor/base {version} {switch} (ref)", floor, base))
        results.append(compare(f"  shim/floor {version} {switch} (ref)", shim, floor))
        for other, times_of in (("0-byte .pth", empty), ("no .pth", none)):
            label = f"  shim - {other} {version} {switch} (ref)"
            results.append(compare(label, shim, times_of, micros=True))
    return results


def bench_peer(version: str, peer: Venv, base: Venv, home: Path, pairs: int) -> Comparison:
    """``python -c pass`` with pip-system-certs against the comment-only base venv."""
    arms = {
        name: ([str(venv.python), "-c", "pass"], scrubbed_env(venv.bin, home))
        for name, venv in (("peer", peer), ("base", base))
    }
    times = paired(pairs, 3, arms, home / "peer.log")
    label = f"startup {version} pip-system-certs"
    return compare(label, times["peer"], times["base"])


def bench_pip(version: str, shim: Venv, home: Path, pairs: int) -> List[Comparison]:
    """``pip download`` from a loopback TLS index: shim on against ``--cert``, shim off.

    A third arm has the shim on with a 50-entry ``host-ca`` table, none of which
    matches the index (every entry parsed and checked, no context built for it).
    """
    pki = make_pki(home / "pki")
    dists = home / "dists"
    make_wheel(dists, "tinypkg", "1.0")
    dest = home / "dl"
    ca = str(pki.ca_pem)

    def clean() -> None:
        shutil.rmtree(dest, ignore_errors=True)

    with TlsIndex(pki, dists) as index:
        argv = [str(shim.python), "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
        argv += ["--index-url", index.url, "-d", str(dest), "tinypkg"]
        on = {"PIP_TRUSTSHIM": "1", "PIP_TRUSTSHIM_STORE": ca}
        table = "\n".join(f"pypi{n}.corp.test:{8000 + n} {ca}" for n in range(50))
        hosts50 = {**on, "PIP_TRUSTSHIM_HOST_CA": table}
        arms = {
            "on": (argv, scrubbed_env(shim.bin, home, extra=on)),
            "hosts50": (argv, scrubbed_env(shim.bin, home, extra=hosts50)),
            "cert": (argv + ["--cert", ca], scrubbed_env(shim.bin, home)),
        }
        times = paired(pairs, 2, arms, home / "pip.log", before=clean)
    return [
        compare(f"pip {version} on vs --cert", times["on"], times["cert"], PIP_BUDGET, PIP_GOAL),
        compare(
            f"pip {version} on, 50 host-ca entries, vs --cert",
            times["hosts50"],
            times["cert"],
            PIP_BUDGET,
            PIP_GOAL,
        ),
    ]


def bench_squid(version: str, shim: Venv, home: Path, c: Components, pairs: int) -> Comparison:
    """``pip download`` through the bumping squid: shim on (store = the proxy's CA)
    against shim off with ``--cert`` naming the same file."""
    dest = home / "dl-squid"
    ca = str(c.pki.proxy_pem)

    def clean() -> None:
        shutil.rmtree(dest, ignore_errors=True)

    argv = [str(shim.python), "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
    argv += ["--index-url", c.url(PUBLIC), "-d", str(dest), "tinypkg"]
    proxy = {"HTTPS_PROXY": c.squid}
    on = {**proxy, "PIP_TRUSTSHIM": "1", "PIP_TRUSTSHIM_STORE": ca}
    arms = {
        "on": (argv, scrubbed_env(shim.bin, home, extra=on)),
        "cert": (argv + ["--cert", ca], scrubbed_env(shim.bin, home, extra=proxy)),
    }
    times = paired(pairs, 2, arms, home / "squid.log", before=clean)
    label = f"pip {version} via squid, on vs --cert"
    return compare(label, times["on"], times["cert"], PIP_BUDGET, PIP_GOAL)


def start_squid(home: Path, stack: contextlib.ExitStack) -> Optional[Components]:
    """The components tier's squid, nginx and pypiserver, or None (said why)."""
    try:
        return stack.enter_context(running(home / "components", tools_venv()))
    except BaseException as error:  # pytest's skip is a BaseException
        if isinstance(error, KeyboardInterrupt):
            raise
        print(f"SKIPPED: pip through squid: {error}", file=sys.stderr)
        return None


def large_tables(home: Path, ca: Path, index_port: int) -> Tuple[str, str, str]:
    """The 10,000-entry table as pip.conf text, the same text with the table in a section
    nothing reads (the baseline), and the table as an environment value.

    The entries name five copies of ``ca`` (``~/a`` to ``~/e``); one, the
    last, is the index's own. The environment value stays under Linux's limit
    of 128 KiB for one variable (short names, ``~/`` paths).
    """
    files = []
    for name in "abcde":
        shutil.copyfile(ca, home / name)
        files.append(home / name)
    rows = [
        (f"build{n}.corp.example:{8000 + n % 1000}", files[n % 5]) for n in range(SCALE_ENTRIES - 1)
    ]
    rows.append((f"localhost:{index_port}", files[0]))
    table = "\n    ".join(f"{host} {path}" for host, path in rows)
    head = f"[global]\ncert = {ca}\n\n[trustshim]\nenabled = yes\nstore = {ca}\n"
    conf = f"{head}host-ca =\n    {table}\n"
    unread = f"{head}\n[unread]\nhost-ca =\n    {table}\n"
    short = [f"h{n}.t ~/{'abcde'[n % 5]}" for n in range(SCALE_ENTRIES - 1)]
    environ = ";".join([*short, f"localhost:{index_port} ~/a"])
    return conf, unread, environ


def bench_scale(
    version: str, shim: Venv, home: Path, pairs: int
) -> Tuple[List[Comparison], List[Tuple[str, float]]]:
    """``pip download`` with a 10,000-entry ``host-ca`` table against a like-for-like
    baseline (pip.conf, then the environment); then ``status`` and ``check`` with it.

    Returns the comparisons, and each command's median wall-clock seconds.
    """
    pki = make_pki(home / "pki")
    dists = home / "dists"
    make_wheel(dists, "tinypkg", "1.0")
    dest = home / "dl"
    xdg = home / "xdg"  # no /etc/xdg/pip/pip.conf; /etc/pip.conf's cert is overridden
    xdg.mkdir(exist_ok=True)

    def clean() -> None:
        shutil.rmtree(dest, ignore_errors=True)

    with TlsIndex(pki, dists) as index:
        conf, unread, environ = large_tables(home, pki.ca_pem, index.port)
        files = {"table": home / "table.conf", "unread": home / "unread.conf"}
        files["table"].write_text(conf)
        files["unread"].write_text(unread)
        argv = [str(shim.python), "-m", "pip", "download", "--no-deps", "--no-cache-dir"]
        argv += ["--index-url", index.url, "-d", str(dest), "tinypkg"]
        on = {"PIP_TRUSTSHIM": "1", "PIP_TRUSTSHIM_STORE": str(pki.ca_pem)}
        xdg_env = {"XDG_CONFIG_DIRS": str(xdg)}
        arms = {
            name: (argv, scrubbed_env(shim.bin, home, str(path), xdg_env))
            for name, path in files.items()
        }
        arms["env-table"] = (
            argv,
            scrubbed_env(shim.bin, home, extra={**on, "PIP_TRUSTSHIM_HOST_CA": environ}),
        )
        arms["env-none"] = (argv, scrubbed_env(shim.bin, home, extra=on))
        times = paired(pairs, 2, arms, home / "scale.log", before=clean)
        commands = {
            "status": ["status"],
            "check": ["check", index.url],
        }
        seconds = []
        for name, args in commands.items():
            for table in ("table", "unread"):
                env = scrubbed_env(shim.bin, home, str(files[table]), xdg_env)
                argv = [str(shim.python), "-m", "pip_trustshim", *args]
                walls = [timed(argv, env, home / "command.log")[0] for _ in range(pairs // 3 + 1)]
                label = f"{name} {version}, " + (
                    f"{SCALE_ENTRIES:,} host-ca entries in pip.conf"
                    if table == "table"
                    else "the same pip.conf, table unread (ref)"
                )
                seconds.append((label, statistics.median(walls)))
    entries = f"{SCALE_ENTRIES:,} host-ca entries"
    return [
        compare(
            f"pip {version} {entries} in pip.conf vs unread",
            times["table"],
            times["unread"],
            SCALE_BUDGET,
            SCALE_BUDGET,
        ),
        compare(
            f"pip {version} {entries} in the environment vs none",
            times["env-table"],
            times["env-none"],
            SCALE_BUDGET,
            SCALE_BUDGET,
        ),
    ], seconds


# ------------------------------------------------------------ importtime


def importtime(venv: Venv, home: Path, extra: Dict[str, str]) -> List[Tuple[int, int, str]]:
    """``python -X importtime -c pass``: (self us, nesting depth, name) per import."""
    proc = venv.run(["-X", "importtime", "-c", "pass"], home, env=extra)
    rows = []
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)", line)
        if match:
            rows.append((int(match.group(1)), len(match.group(2)) // 2, match.group(3)))
    return rows


def loaded_at_startup(venv: Venv, home: Path, extra: Dict[str, str]) -> List[str]:
    """``sys.modules`` after ``python -c`` has started (the probe itself imports nothing)."""
    code = "import sys; print(' '.join(sorted(sys.modules)))"
    proc = venv.run(["-c", code], home, env=extra)
    if proc.returncode != 0:
        raise RuntimeError(f"{venv.path}: {proc.stderr}")
    return proc.stdout.split()


def check_importtime(version: str, shim: Venv, base: Venv, home: Path) -> Tuple[List[str], bool]:
    """Report lines and whether the hook imported nothing but itself (switch on).

    Judged on ``sys.modules``: the shim twin may have exactly one module more
    than the comment-only baseline, the hook. ``-X importtime`` (21 runs) adds
    whether the hook is a leaf and its own import time; it does not see a
    module imported by ``importlib.import_module`` (as 3.15's ``site`` would
    for a PEP 829 ``.start`` entry point), and then says so.
    """
    on = {"PIP_TRUSTSHIM": "1"}
    extra = sorted(set(loaded_at_startup(shim, home, on)) - set(loaded_at_startup(base, home, on)))
    ok = extra == [HOOK]
    lines = [
        f"startup modules {version}: shim twin has {len(extra)} more than the baseline"
        f" ({', '.join(extra) or 'none'}): {'ok' if ok else 'NOT ONLY THE HOOK'}"
    ]
    costs = []
    leaf = True
    for _ in range(21):
        rows = importtime(shim, home, on)
        names = [name for _, _, name in rows]
        if HOOK not in names:
            lines.append(f"importtime {version}: {HOOK} not in -X importtime's output")
            return lines, ok
        at = names.index(HOOK)
        leaf = leaf and (at == 0 or rows[at - 1][1] <= rows[at][1])
        costs.append(rows[at][0])
    ok = ok and leaf
    lines.append(
        f"importtime {version}: {HOOK} a leaf (no children): {'yes' if leaf else 'NO'};"
        f" its own import median {statistics.median(costs)} us"
    )
    return lines, ok


# ------------------------------------------------------------------ main


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Build (or reuse) the venvs, measure, print, and judge against the budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    versions = [version for version, _ in TARGETS]
    parser.add_argument(
        "--python",
        action="append",
        choices=versions,
        help=f"measure only this CPython (repeatable; default: all of {', '.join(versions)})",
    )
    parser.add_argument("--pairs", type=int, default=400, help="startup rounds (default 400)")
    parser.add_argument(
        "--warmup", type=int, default=20, help="startup rounds dropped first (default 20)"
    )
    parser.add_argument("--peer-pairs", type=int, default=40, help="pip-system-certs pairs")
    parser.add_argument("--pip-pairs", type=int, default=30, help="pip download pairs")
    parser.add_argument("--no-peer", action="store_true", help="skip pip-system-certs")
    parser.add_argument("--no-pip", action="store_true", help="skip the pip download runs")
    parser.add_argument("--squid-pairs", type=int, default=30, help="pip-through-squid pairs")
    parser.add_argument("--no-squid", action="store_true", help="skip pip through squid")
    parser.add_argument("--scale-pairs", type=int, default=30, help="large-table pairs")
    parser.add_argument("--no-scale", action="store_true", help="skip the large-table runs")
    parser.add_argument(
        "--no-startup", action="store_true", help="skip the start-up runs (and importtime)"
    )
    parser.add_argument(
        "--only-scale", action="store_true", help="only the large-table runs (no startup, no pip)"
    )
    args = parser.parse_args(argv)

    VENVS.mkdir(parents=True, exist_ok=True)
    wheel = build_project_wheel(VENVS / "wheel")
    print(f"pip-trustshim startup benchmark, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(
        "columns: wall-clock median with vs baseline, ratio of medians [bootstrap 95%],"
        " IQR with / baseline, ratio of the children's median CPU times;"
        " '-' lines: difference of the medians in microseconds [bootstrap 95%], and of the"
        " CPU medians. Judged baseline: the same venv, pip_trustshim.pth one comment line"
    )
    results: List[Comparison] = []
    notes: List[str] = []
    commands: List[str] = []
    healthy = True
    with tempfile.TemporaryDirectory(
        prefix="trustshim-bench-"
    ) as tmp, contextlib.ExitStack() as stack:
        home = Path(tmp)
        squid = None if args.no_squid or args.only_scale else start_squid(home, stack)
        for version, pip in TARGETS:
            if args.python and version not in args.python:
                continue
            python = find_python(version)
            if python is None:
                print(
                    f"SKIPPED: CPython {version} not found (set {python_env_var(version)})",
                    file=sys.stderr,
                )
                continue
            notes.append(f"CPython {version}: {python}, pip {pip}")
            venvs = startup_venvs(version, pip, wheel, home)
            if not (args.no_startup or args.only_scale):
                lines, ok = check_importtime(version, venvs["shim"], venvs["base"], home)
                notes.extend(lines)
                healthy = healthy and ok
                results.extend(bench_startup(version, venvs, home, args.pairs, args.warmup))
            if not args.only_scale and not args.no_peer and (version, pip) == PEER_TARGET:
                peer = peer_venv(version, pip)
                results.append(bench_peer(version, peer, venvs["base"], home, args.peer_pairs))
            if not args.only_scale and not args.no_pip:
                results += bench_pip(version, venvs["shim"], home, args.pip_pairs)
            if squid is not None:
                results.append(bench_squid(version, venvs["shim"], home, squid, args.squid_pairs))
            if not args.no_scale:
                found, seconds = bench_scale(version, venvs["shim"], home, args.scale_pairs)
                results += found
                for label, median in seconds:
                    judged = "(ref)" not in label
                    verdict = "ok" if median <= COMMAND_BUDGET else "OVER BUDGET"
                    commands.append(
                        f"{label:<60} median {median:.3f}s"
                        + (f"  budget {COMMAND_BUDGET:.0f}s: {verdict}" if judged else "")
                    )
                    healthy = healthy and (not judged or median <= COMMAND_BUDGET)
    for note in notes:
        print(note)
    for result in results:
        print(result.line())
    for command in commands:
        print(command)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if not results:
        return 2
    over = [r for r in results if r.verdict() == "OVER BUDGET"]
    return 1 if over or not healthy else 0


if __name__ == "__main__":
    sys.exit(main())
