"""The directory lock, exercised by real processes: exclusion, refusal naming the holder, waiting,
stale locks of dead processes taken over, holders on other hosts left alone."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from mnemoscope import locks
from mnemoscope.locks import LOCK_FILE, LockHeld, MalformedLock, hold, read_holder

SRC = os.path.join(os.path.dirname(os.path.dirname(__file__)), "src")


def _python(script: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        **kwargs,
    )


def _holder_process(directory) -> subprocess.Popen:
    """A child that takes the lock, says so, and holds it until its stdin closes."""
    child = _python(
        f"""
        import sys
        from mnemoscope.locks import hold
        with hold({str(directory)!r}):
            print("held", flush=True)
            sys.stdin.read()
        """
    )
    assert child.stdout.readline().strip() == b"held", child.stderr.read().decode()
    return child


def test_second_process_is_refused_with_the_holder_named(tmp_path):
    child = _holder_process(tmp_path)
    try:
        with pytest.raises(LockHeld) as refused, hold(tmp_path):
            raise AssertionError("two processes held the lock at once")
        message = str(refused.value)
        assert f"pid {child.pid}" in message and socket.gethostname() in message
        assert str(tmp_path) in message
        assert refused.value.holder["pid"] == child.pid
    finally:
        child.stdin.close()
        assert child.wait(timeout=30) == 0
    assert read_holder(tmp_path) is None  # released by the holder
    with hold(tmp_path) as record:  # and free for the next one
        assert read_holder(tmp_path)["token"] == record["token"]
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_waiting_process_gets_the_lock_once_the_holder_is_done(tmp_path):
    child = _holder_process(tmp_path)
    waiter = _python(
        f"""
        from mnemoscope.locks import hold
        with hold({str(tmp_path)!r}, wait=None) as record:
            print(record["pid"], flush=True)
        """
    )
    # The waiter announces what it waits for, naming the holder, before it gets the lock.
    line = waiter.stderr.readline().decode()
    assert f"pid {child.pid}" in line and "waiting" in line
    assert waiter.poll() is None
    child.stdin.close()
    assert child.wait(timeout=30) == 0
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err.decode()
    assert int(out) == waiter.pid


def test_waiting_gives_up_after_its_timeout_naming_the_holder(tmp_path):
    child = _holder_process(tmp_path)
    try:
        with pytest.raises(LockHeld, match=f"after waiting .*pid {child.pid}"):
            with hold(tmp_path, wait=0.5):
                pass
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def test_stale_lock_of_a_killed_process_is_taken_over(tmp_path, capfd):
    child = _holder_process(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert read_holder(tmp_path)["pid"] == child.pid  # SIGKILL left its lock behind
    with hold(tmp_path, wait=0) as record:
        assert read_holder(tmp_path)["token"] == record["token"]
    assert f"from pid {child.pid}" in capfd.readouterr().err


def test_stale_lock_of_an_unreaped_process_is_taken_over(tmp_path):
    child = _holder_process(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    while locks._process(child.pid)[0] not in ("Z", None):  # dead, not yet waited for
        os.sched_yield()
    try:
        with hold(tmp_path, wait=0) as record:
            assert read_holder(tmp_path)["token"] == record["token"]
    finally:
        child.wait()


def test_a_reused_pid_does_not_keep_a_stale_lock_alive(tmp_path):
    # The pid is alive (our parent) but its process started at another time than the holder.
    record = {"pid": os.getppid(), "host": socket.gethostname(), "started": "2000-01-01",
              "pid_start": -1, "token": "old"}  # fmt: skip
    (tmp_path / LOCK_FILE).write_text(json.dumps(record))
    with hold(tmp_path) as mine:
        assert read_holder(tmp_path)["token"] == mine["token"]


def test_live_holder_on_this_host_is_never_taken_over(tmp_path):
    record = {"pid": os.getppid(), "host": socket.gethostname(), "started": "2000-01-01",
              "pid_start": locks._process(os.getppid())[1], "token": "live"}  # fmt: skip
    (tmp_path / LOCK_FILE).write_text(json.dumps(record))
    with pytest.raises(LockHeld, match=f"pid {os.getppid()}"), hold(tmp_path):
        pass
    assert read_holder(tmp_path)["token"] == "live"


def test_holder_on_another_host_is_refused_with_how_to_remove_its_lock(tmp_path):
    record = {"pid": 1, "host": "worker-17.cluster", "started": "2026-01-01T00:00:00+00:00",
              "token": "remote"}  # fmt: skip
    (tmp_path / LOCK_FILE).write_text(json.dumps(record))
    with pytest.raises(LockHeld) as refused, hold(tmp_path):
        pass
    message = str(refused.value)
    assert "pid 1 on host worker-17.cluster" in message and "another host" in message
    assert f"remove {tmp_path / LOCK_FILE} by hand" in message and "heartbeat" in message
    assert read_holder(tmp_path)["token"] == "remote"  # left alone


def test_holder_on_another_host_whose_heartbeat_stopped_is_taken_over(tmp_path, capfd):
    record = {"pid": 1, "host": "worker-17.cluster", "started": "2026-01-01T00:00:00+00:00",
              "token": "remote"}  # fmt: skip
    (tmp_path / LOCK_FILE).write_text(json.dumps(record))
    last_beat = time.time() - locks.STALE_AFTER_SECONDS - 60
    os.utime(tmp_path / LOCK_FILE, (last_beat, last_beat))
    with hold(tmp_path, wait=0) as mine:
        assert read_holder(tmp_path)["token"] == mine["token"]
    assert "from pid 1 on host worker-17.cluster" in capfd.readouterr().err


def test_a_holder_keeps_its_lock_alive_by_heartbeat(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, "HEARTBEAT_SECONDS", 0.01)
    with hold(tmp_path):
        old = time.time() - 3600
        os.utime(tmp_path / LOCK_FILE, (old, old))  # as if untouched for an hour
        deadline = time.monotonic() + 30
        while (tmp_path / LOCK_FILE).stat().st_mtime < old + 1800:
            assert time.monotonic() < deadline, "the heartbeat never touched LOCK"
            time.sleep(0.01)
    assert not (tmp_path / LOCK_FILE).exists()


@pytest.mark.parametrize(
    ("content", "says"),
    [(b"not json", "not a JSON record: 'not json'"), (b"", "an empty file"),
     (b"\xff\xfe\x00garbage", "not a JSON record"),
     (b'{"pid": "123", "host": "h", "token": "t"}', "pid '123' is not a process id"),
     (b'{"pid": 123, "host": null}', "host None is not a host name")],
    ids=["text", "empty", "not-utf8", "string-pid", "no-host"],
)  # fmt: skip
def test_a_lock_file_that_is_not_a_lock_record_is_refused_at_once(tmp_path, monkeypatch,
                                                                   content, says):  # fmt: skip
    """Never waited for (its holder cannot be checked, so no wait would end: training runs
    wait as long as the holder lives), never removed: one message naming the file."""
    (tmp_path / LOCK_FILE).write_bytes(content)

    def no_waiting(seconds):
        raise AssertionError("waited for a lock that names no holder")

    monkeypatch.setattr(locks.time, "sleep", no_waiting)
    with pytest.raises(MalformedLock) as refused, hold(tmp_path, wait=None):
        pass
    message = str(refused.value)
    assert str(tmp_path / LOCK_FILE) in message and says in message and "remove" in message
    assert (tmp_path / LOCK_FILE).read_bytes() == content


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path):
    with hold(tmp_path):
        (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "x", "token": "other"}))
    assert read_holder(tmp_path)["token"] == "other"


def test_a_directory_created_for_the_lock_and_left_empty_is_removed(tmp_path):
    with hold(tmp_path / "new"):
        assert (tmp_path / "new").is_dir()
    assert not (tmp_path / "new").exists()
    with hold(tmp_path / "used"):
        (tmp_path / "used" / "result.txt").write_text("kept")
    assert (tmp_path / "used" / "result.txt").read_text() == "kept"


def test_parents_created_for_the_lock_and_left_empty_are_removed_too(tmp_path):
    # `mnemoscope run bad.yaml` refused after claiming runs/sslmem must not leave runs/ behind
    with hold(tmp_path / "runs" / "sslmem"):
        assert (tmp_path / "runs" / "sslmem").is_dir()
    assert not (tmp_path / "runs").exists()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "other.txt").write_text("x")
    with hold(tmp_path / "kept" / "a" / "b"):
        pass
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["other.txt"]
    with hold(tmp_path / "used" / "study"):
        (tmp_path / "used" / "sibling").mkdir()  # written beside the run while it ran: kept
    assert (tmp_path / "used" / "sibling").is_dir() and not (tmp_path / "used" / "study").exists()


def test_processes_contending_for_the_lock_never_overlap(tmp_path):
    # Each process increments a counter by read, pause, write: without exclusion, increments
    # that overlap are lost. They start on a stale lock, which all of them try to take over.
    stale = _holder_process(tmp_path)
    os.kill(stale.pid, signal.SIGKILL)
    stale.wait()
    counter = tmp_path / "counter"
    counter.write_text("0")
    script = f"""
        import os, time
        from mnemoscope.locks import hold
        for _ in range(5):
            with hold({str(tmp_path)!r}, wait=None):
                value = int(open({str(counter)!r}).read())
                time.sleep(0.01)
                open({str(counter)!r}, "w").write(str(value + 1))
        """
    children = [_python(script) for _ in range(4)]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
    assert counter.read_text() == "20"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter"]
