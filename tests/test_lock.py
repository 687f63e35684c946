"""Tests of ``pip_trustshim.lock`` and of the lock around ``conffile.edit_section``.

In-process: threads, each with its own open lock file (``flock`` locks belong
to an open file, so two in one process exclude each other as two processes
do), and a child process that holds the lock. The end-to-end test with eight
``pip-trustshim enable`` processes at once is in tests/test_fleet.py.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from pip_trustshim import conffile, lock
from pip_trustshim.atomic import write_atomically
from pip_trustshim.conffile import ConfigFileError, edit_section

REPO = Path(__file__).resolve().parent.parent
WRITERS = 8


def test_lock_file_is_beside_the_file(tmp_path: Path) -> None:
    assert lock.lock_path(str(tmp_path / "pip.conf")) == str(tmp_path / ".pip.conf.lock")
    with lock.exclusive(str(tmp_path / "pip.ini")) as held:
        assert held == str(tmp_path / ".pip.ini.lock") and os.path.isfile(held)
    assert os.path.isfile(held)  # left in place: removing it could split the lock in two


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="POSIX: O_NOFOLLOW")
def test_a_planted_symbolic_link_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / ".pip.conf.lock").symlink_to(elsewhere)
    with pytest.raises(lock.LockError, match="cannot create the lock file"):
        with lock.exclusive(str(tmp_path / "pip.conf")):
            pass  # pragma: no cover: never reached
    assert not elsewhere.exists()


def test_a_second_holder_waits_and_gives_up(tmp_path: Path) -> None:
    target = str(tmp_path / "pip.conf")
    with lock.exclusive(target):
        started = time.monotonic()
        with pytest.raises(lock.LockError) as caught:
            with lock.exclusive(target, timeout=0.3):
                pass  # pragma: no cover: never reached
        assert time.monotonic() - started >= 0.3
    assert str(caught.value) == (
        f"{tmp_path / '.pip.conf.lock'}: another process has held this lock for 0.3 s "
        "(another pip-trustshim enable or disable?)"
    )
    with lock.exclusive(target, timeout=0):  # released: taken at once
        pass


def test_the_waiter_gets_the_lock_when_it_is_released(tmp_path: Path) -> None:
    target = str(tmp_path / "pip.conf")
    order: List[str] = []
    holding = threading.Event()

    def holder() -> None:
        with lock.exclusive(target):
            holding.set()
            time.sleep(0.3)
            order.append("holder done")

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(10)
    with lock.exclusive(target, timeout=10):
        order.append("waiter in")
    thread.join()
    assert order == ["holder done", "waiter in"]


def test_the_lock_outlives_the_replaced_file(tmp_path: Path) -> None:
    """The file is replaced by a rename while the lock is held: a second writer still waits."""
    target = tmp_path / "pip.conf"
    target.write_text("[global]\n")
    with lock.exclusive(str(target)):
        write_atomically(str(target), b"[global]\ntimeout = 1\n")
        with pytest.raises(lock.LockError):
            with lock.exclusive(str(target), timeout=0.1):
                pass  # pragma: no cover: never reached


@contextlib.contextmanager
def held_by_a_child(target: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process that holds the lock of ``target`` until it is killed."""
    code = (
        "import sys, time\n"
        "from pip_trustshim import lock\n"
        f"with lock.exclusive({str(target)!r}):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        yield child
    finally:
        child.kill()
        child.wait(30)


def test_an_edit_waits_for_another_process_and_writes_nothing_on_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "pip.conf"
    path.write_bytes(b"# mine\n")
    monkeypatch.setattr(lock, "TIMEOUT", 0.3)
    with held_by_a_child(path):
        with pytest.raises(ConfigFileError) as caught:
            edit_section(path, "trustshim", {"enabled": "yes"})
        assert str(caught.value) == (
            f"{path}: {tmp_path / '.pip.conf.lock'}: another process has held this lock "
            "for 0.3 s (another pip-trustshim enable or disable?); nothing was written"
        )
        assert path.read_bytes() == b"# mine\n"
        # a dry run and an edit that changes nothing need no lock
        assert edit_section(path, "trustshim", {"enabled": "yes"}, dry_run=True).changed
        assert not edit_section(path, "trustshim", {"enabled": None}).changed


def test_a_killed_holder_leaves_no_lock(tmp_path: Path) -> None:
    path = tmp_path / "pip.conf"
    with held_by_a_child(path) as child:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        started = time.monotonic()
        edit_section(path, "trustshim", {"enabled": "yes"})
        assert time.monotonic() - started < lock.TIMEOUT / 2
    assert path.read_text() == "[trustshim]\nenabled = yes\n"


def concurrent_edits(path: Path, monkeypatch: pytest.MonkeyPatch) -> Dict[str, Optional[str]]:
    """``WRITERS`` threads, each setting its own key at once; every write takes 50 ms.

    Each thread reads, edits and writes through ``edit_section``; the slow
    write makes every unlocked read-modify-write overlap the others.
    """
    real_write = conffile.write_atomically

    def slow_write(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.05)
        real_write(*args, **kwargs)

    monkeypatch.setattr(conffile, "write_atomically", slow_write)
    start = threading.Barrier(WRITERS)
    failures: List[BaseException] = []

    def writer(number: int) -> None:
        start.wait(10)
        try:
            edit_section(path, "trustshim", {f"writer-{number}": str(number)})
        except BaseException as error:  # pragma: no cover: reported below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    parser = configparser.RawConfigParser()
    parser.read_string(path.read_text())
    return dict(parser.items("trustshim")) if parser.has_section("trustshim") else {}


def test_concurrent_edits_lose_no_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pip.conf"
    path.write_text("# kept\n[global]\ntimeout = 60\n")
    found = concurrent_edits(path, monkeypatch)
    assert found == {f"writer-{n}": str(n) for n in range(WRITERS)}
    assert path.read_text().startswith("# kept\n[global]\ntimeout = 60\n[trustshim]\n")
    assert sorted(os.listdir(tmp_path)) == [".pip.conf.lock", "pip.conf"]


def test_without_the_lock_the_same_edits_lose_updates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the harness above does catch a missing lock."""
    monkeypatch.setattr(lock, "exclusive", lambda target: contextlib.nullcontext(target))
    path = tmp_path / "pip.conf"
    path.write_text("")
    found = concurrent_edits(path, monkeypatch)
    assert 1 <= len(found) < WRITERS
