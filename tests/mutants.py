"""The curated mutation check: every mistake in ``tests/mutations.py`` must be caught.

For each mutation: copy the checkout (its git-tracked and untracked, not
ignored, files) to a temporary directory, apply the mutation there, and run
only the tests listed for it, stopping at the first failure. A failure kills
the mutation; a pass means it survived. First, the same tests must all pass,
none skipped, on an unmutated copy: otherwise a "kill" would mean nothing.
Before anything runs, each edit's ``old`` text must occur exactly once in its
file, and the mutated file must compile, so a list that drifts from the code
fails loudly.

The tests build the project wheel from the copy they run in and install it
into venvs kept under ``<test cache>/mutants/wN`` (``TRUSTSHIM_TEST_CACHE``
pointed there, sharing only the downloaded wheels): the real checkout's
venvs never see a mutant. Reusing those venvs between mutants is safe: a
venv with the project reinstalls it whenever the wheel's sha256 differs,
and is rebuilt when anything else in its site-packages changed. Mutations
run two at a time (one per core, at most two), each worker in venvs of its
own (``wN``): a mutant never runs in a venv another one is installing into.

Usage: ``python tests/mutants.py [NAME...]`` (``tox -e mutants``); exit
status 0 when every mutation was killed, 1 when one survived or errored, 2
when the list does not match the code.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib.venvs import copy_checkout  # noqa: E402
from mutations import MUTATIONS, Mutation  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PYTEST = ["-p", "no:cacheprovider", "-q", "--no-header", "-o", "console_output_style=classic"]


@dataclass(frozen=True)
class Run:
    """What one pytest run on a copy gave."""

    verdict: str  # failed, passed (all, none skipped), or error
    seconds: float
    detail: str  # the first failing test and why, or what went wrong


def problems(mutations: Sequence[Mutation], root: Path = REPO) -> List[str]:
    """Why a mutation cannot be applied to the code as it is: one line each."""
    found = []
    names = [mutation.name for mutation in mutations]
    found += [f"{name}: listed twice" for name in sorted({n for n in names if names.count(n) > 1})]
    for mutation in mutations:
        path = root / mutation.file
        if not path.is_file():
            found.append(f"{mutation.name}: no file {mutation.file}")
            continue
        text = path.read_text()
        for old, new in mutation.edits():
            if text.count(old) != 1:
                found.append(
                    f"{mutation.name}: {old!r} occurs {text.count(old)} times in {mutation.file}"
                )
            elif old == new:
                found.append(f"{mutation.name}: an edit that changes nothing")
        try:
            compile(mutated(mutation, text), mutation.file, "exec")
        except SyntaxError as error:
            found.append(f"{mutation.name}: the mutated file does not compile ({error})")
        if not mutation.tests:
            found.append(f"{mutation.name}: no tests listed")
    return found


def mutated(mutation: Mutation, text: str) -> str:
    """``text``, a file's, with the mistake made in it."""
    for old, new in mutation.edits():
        text = text.replace(old, new, 1)
    return text


def apply(mutation: Mutation, root: Path) -> None:
    """Make the mistake in the copy at ``root``."""
    path = root / mutation.file
    path.write_text(mutated(mutation, path.read_text()))


#: how many mutations run at once, each with a test cache of its own
WORKERS = max(1, min(2, os.cpu_count() or 1))
_worker = threading.local()
_numbers = itertools.count()
_numbering = threading.Lock()


def mutants_cache() -> Path:
    """This worker's own test cache: its venvs apart, the downloaded wheels shared."""
    if not hasattr(_worker, "number"):
        with _numbering:
            _worker.number = next(_numbers)
    real = Path(os.environ.get("TRUSTSHIM_TEST_CACHE") or REPO / ".test-cache")
    cache = real / "mutants" / f"w{_worker.number}"
    cache.mkdir(parents=True, exist_ok=True)
    (real / "wheels").mkdir(exist_ok=True)
    wheels = cache / "wheels"
    if not wheels.is_symlink():
        wheels.symlink_to((real / "wheels").resolve())
    return cache


def run_tests(root: Path, tests: Sequence[str], first_failure: bool) -> Run:
    """pytest on ``tests`` in the copy at ``root``; only a failing test counts as a failure."""
    start = time.monotonic()
    command = [sys.executable, "-m", "pytest", *PYTEST, "--basetemp", "tmp", "--junitxml"]
    command += ["report.xml", *(["-x"] if first_failure else []), *tests]
    env = {**os.environ, "TRUSTSHIM_TEST_CACHE": str(mutants_cache())}
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    cases = report(root / "report.xml")
    failed = [f"{name}: {why}" for name, (kind, why) in cases.items() if kind == "failure"]
    other = [f"{name}: {kind}" for name, (kind, _) in cases.items() if kind != "passed"]
    last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode == 1 and failed:
        return Run("failed", seconds, failed[0])
    if done.returncode == 0 and cases and not other:
        return Run("passed", seconds, last)
    why = "; ".join(other) or f"pytest exit status {done.returncode}: {last}"
    return Run("error", seconds, f"{why}\n{done.stdout[-4000:]}{done.stderr[-4000:]}")


def report(path: Path) -> Dict[str, Tuple[str, str]]:
    """Each test case of a junit report: (passed, failure, error or skipped; first line why)."""
    found: Dict[str, Tuple[str, str]] = {}
    if not path.is_file():
        return found
    for case in ElementTree.parse(path).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        found[name] = ("passed", "")
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                why = (child.get("message") or "").strip().splitlines()
                found[name] = (child.tag, why[0][:300] if why else "")
                break
    return found


def in_copy(mutation: Optional[Mutation], tests: Sequence[str]) -> Run:
    """Run ``tests`` on a fresh copy of the checkout with ``mutation`` made (None: none)."""
    with tempfile.TemporaryDirectory(prefix="pip-trustshim-mutant-") as folder:
        root = Path(folder)
        copy_checkout(root)
        if mutation is not None:
            apply(mutation, root)
        return run_tests(root, tests, first_failure=mutation is not None)


VERDICTS = {"failed": "killed", "passed": "survived", "error": "error"}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("names", nargs="*", help="run only these mutations (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.names) - {mutation.name for mutation in MUTATIONS}
    if unknown:
        parser.error(f"no such mutation: {', '.join(sorted(unknown))}")
    wrong = problems(MUTATIONS)
    if wrong:
        print("mutants: the list does not match the code:", *wrong, sep="\n  ")
        return 2
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    start = time.monotonic()
    every = list(dict.fromkeys(test for mutation in chosen for test in mutation.tests))
    print(f"mutants: {len(every)} tests on an unmutated copy first", flush=True)
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:  # its threads' caches
        baseline = pool.submit(in_copy, None, every).result()
        print(f"  unmutated: {baseline.verdict} ({baseline.seconds:.0f} s)", flush=True)
        if baseline.verdict != "passed":
            print(f"mutants: the listed tests must all pass unmutated\n{baseline.detail}")
            return 1
        results = ordered(pool, chosen)
    return summary(results, start)


def ordered(
    pool: concurrent.futures.ThreadPoolExecutor, chosen: Sequence[Mutation]
) -> List[Tuple[Mutation, str, Run]]:
    """Each mutation's verdict, run in ``pool``, printed in the list's order."""
    results: List[Tuple[Mutation, str, Run]] = []
    runs = pool.map(lambda mutation: in_copy(mutation, mutation.tests), chosen)
    for number, (mutation, run) in enumerate(zip(chosen, runs), 1):
        verdict = VERDICTS[run.verdict]
        results.append((mutation, verdict, run))
        first, *rest = run.detail.splitlines() or [""]
        where = f"[{number}/{len(chosen)}] {mutation.name}"
        print(f"  {where}: {verdict} ({run.seconds:.0f} s) {first}")
        if verdict == "error":
            print("\n".join(rest))
        sys.stdout.flush()
    return results


def summary(results: List[Tuple[Mutation, str, Run]], start: float) -> int:
    """The table of verdicts and the closing line; 0 when every mutation was killed."""
    print("\n| mutation | what it breaks | tests | result |\n|---|---|---|---|")
    for mutation, verdict, run in results:
        tests = "<br>".join(f"`{test.replace('tests/', '')}`" for test in mutation.tests)
        name = f"`{mutation.name}` ({mutation.file.split('/')[-1]})"
        print(f"| {name} | {mutation.why} | {tests} | {verdict}, {run.seconds:.0f} s |")
    killed = sum(verdict == "killed" for _, verdict, _ in results)
    survived = sum(verdict == "survived" for _, verdict, _ in results)
    minutes = (time.monotonic() - start) / 60
    print(
        f"\nmutants: {killed} killed, {survived} survived, {len(results) - killed - survived} "
        f"errors, of {len(results)} mutations, in {minutes:.1f} minutes"
    )
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
