import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from mnemoscope.errors import BadInput
from mnemoscope.locks import LockHeld
from mnemoscope.store import RunDir, atomic_write, atomic_write_text, check_outputs, claim


def test_atomic_write_failure_leaves_old_file_and_no_temporaries(tmp_path):
    target = tmp_path / "result.txt"
    atomic_write_text(target, "finished work")

    def half_then_crash(file):
        file.write(b"half of the new")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_crash)
    assert target.read_text() == "finished work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]


def test_sigkill_during_write_never_leaves_a_partial_file(tmp_path):
    # A child writes a large array slowly through atomic_write and is SIGKILLed mid-write.
    script = textwrap.dedent(
        f"""
        import sys, time
        from mnemoscope.store import atomic_write
        def slow(file):
            for _ in range(200):
                file.write(b"x" * 100_000)
                file.flush()
                print("wrote", flush=True)
                time.sleep(0.01)
        atomic_write({str(tmp_path / "big.bin")!r}, slow)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == b"wrote"  # it is inside the write now
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not (tmp_path / "big.bin").exists()
    # Only a dot-prefixed temporary can remain, which no reader mistakes for the result.
    orphans = list(tmp_path.iterdir())
    assert orphans and all(path.name.startswith(".big.bin.") for path in orphans)
    # The next process to own the directory removes the orphan, and nothing else.
    keep = [tmp_path / name for name in (".notes.tmp", "result.abcdefgh.tmp", "big.bin")]
    nested = tmp_path / "runs" / "other-run" / ".config.yaml.abcd1234.tmp"
    nested.parent.mkdir(parents=True)  # another run directory's (it has a lock of its own)
    for path in [*keep, nested]:
        path.write_text("not an orphan")
    with claim(tmp_path):
        pass
    assert sorted(tmp_path.rglob("*")) == sorted(
        [*keep, nested, nested.parent, nested.parent.parent]
    )


def test_orphan_temporaries_in_artefact_folders_are_removed_by_the_owner(tmp_path):
    orphan = tmp_path / "arrays" / ".scores.npy.k3x9_a1b.tmp"
    orphan.parent.mkdir()
    orphan.write_bytes(b"half")
    with claim(tmp_path) as run:
        assert not orphan.exists()
        run.save_array("scores", np.zeros(2))
    assert sorted(p.name for p in (tmp_path / "arrays").iterdir()) == ["scores.npy"]


def test_a_refused_claim_removes_no_temporary(tmp_path):
    orphan = tmp_path / ".config.yaml.abcd1234.tmp"
    orphan.write_text("a live writer's")
    (tmp_path / "LOCK").write_text(json.dumps({"pid": 1, "host": "elsewhere", "token": "t"}))
    with pytest.raises(LockHeld), claim(tmp_path):
        pass
    assert orphan.exists()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_respect_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        run = RunDir(tmp_path)
        paths = [run.write_config({"a": 1}), run.save_array("x", np.zeros(1)),
                 atomic_write_text(tmp_path / "report.html", "<p>")]  # fmt: skip
        run.mark_complete()
    finally:
        os.umask(previous)
    for path in [*paths, tmp_path / "COMPLETE"]:
        assert path.stat().st_mode & 0o777 == mode, path


def test_writing_the_config_removes_complete_first(tmp_path, monkeypatch):
    run = RunDir(tmp_path)
    run.write_config({"seed": 1})
    run.mark_complete()

    def full_disk(file):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mnemoscope.store.atomic_write", lambda path, write: full_disk(None))
    with pytest.raises(OSError, match="No space"):
        run.write_config({"seed": 2})
    assert not run.is_complete  # gone before the new config was attempted
    assert run.read_config() == {"seed": 1}


def test_run_is_complete_only_after_marker(tmp_path):
    run = RunDir(tmp_path / "run")
    run.write_config({"seed": 3, "sizes": (1, 2)})
    run.save_array("scores", np.arange(5, dtype=np.float32))
    assert not run.is_complete
    run.mark_complete()
    assert run.is_complete
    assert run.read_config() == {"seed": 3, "sizes": [1, 2]}


def test_a_run_config_is_read_by_the_strict_config_reader(tmp_path):
    from mnemoscope.errors import BadInput

    run = RunDir(tmp_path / "run")
    run.write_config({})
    assert run.read_config() == {}
    (run.path / "config.yaml").write_text("seed: 1\nepochs: 2\nseed: 3\n")
    with pytest.raises(BadInput, match="key 'seed' is written twice"):
        run.read_config()


def test_arrays_round_trip_and_memory_map(tmp_path):
    run = RunDir(tmp_path)
    values = np.random.default_rng(0).random((3, 4)).astype(np.float16)
    run.save_array("values", values)
    loaded = run.load_array("values")
    assert isinstance(loaded, np.memmap)
    np.testing.assert_array_equal(loaded, values)
    run.save_array("from_tensor", torch.arange(3))
    np.testing.assert_array_equal(run.load_array("from_tensor", mmap=False), [0, 1, 2])


def test_tables_written_as_parquet_and_csv(tmp_path):
    run = RunDir(tmp_path)
    table = pd.DataFrame({"epoch": [0, 1], "loss": [2.5, 1.25]})
    run.save_table("metrics", table)
    pd.testing.assert_frame_equal(run.load_table("metrics"), table)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "tables" / "metrics.csv"), table)


def test_checkpoint_round_trip_with_metadata(tmp_path):
    run = RunDir(tmp_path)
    base = torch.arange(6.0)
    tensors = {"a": base[::2], "b": base.view(2, 3)}  # shared, non-contiguous storage
    run.save_checkpoint("last", tensors, {"epoch": "4"})
    loaded, metadata = run.load_checkpoint("last")
    assert metadata == {"epoch": "4"}
    torch.testing.assert_close(loaded["a"], torch.tensor([0.0, 2.0, 4.0]))
    torch.testing.assert_close(loaded["b"], base.view(2, 3))


def test_meta_updates_merge(tmp_path):
    run = RunDir(tmp_path)
    run.update_meta(seed=1)
    run.update_meta(device="cpu")
    assert json.loads((tmp_path / "meta.json").read_text()) == {"device": "cpu", "seed": 1}


@pytest.mark.parametrize("name", ["../escape", "", ".hidden", "a/b"])
def test_artefact_names_cannot_escape_the_run(tmp_path, name):
    with pytest.raises(ValueError, match="invalid artefact name"):
        RunDir(tmp_path).save_array(name, np.zeros(1))


def test_summary_is_valid_json_without_nan(tmp_path):
    run = RunDir(tmp_path)
    run.write_summary({"p": float("nan"), "n": np.int64(3), "pair": (1.5, float("inf"))})
    assert json.loads((tmp_path / "summary.json").read_text()) == {
        "p": None,
        "n": 3,
        "pair": [1.5, None],
    }


def test_unmark_complete_makes_a_run_partial_again(tmp_path):
    run = RunDir(tmp_path / "run")
    run.unmark_complete()  # nothing to remove: no error, nothing created
    assert not run.path.exists()
    run.mark_complete()
    run.unmark_complete()
    assert not run.is_complete
    assert list(run.path.iterdir()) == []  # no temporary left behind


def test_a_failed_write_names_its_file_and_leaves_nothing(tmp_path, monkeypatch):
    """Disk full during an atomic write: the error says which file, the old file survives."""
    import errno

    from mnemoscope.store import atomic_write_text

    target = atomic_write_text(tmp_path / "summary.json", "old")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("mnemoscope.store.os.fsync", full)
    with pytest.raises(OSError, match="No space left") as raised:
        atomic_write_text(target, "new")
    assert raised.value.filename == str(target)
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]


# --- a finished directory's outputs are bound to its config (issue 25) ------------------------


def test_a_rerun_of_another_config_leaves_only_its_own_outputs_bound_by_a_manifest(tmp_path):
    with claim(tmp_path, kind="study") as run:
        run.write_config({"pairs": 2})
        run.save_array("old-only", np.zeros(2))
        run.save_array("both", np.zeros(2))
        run.write_summary({"headlines": []})
        run.mark_complete()
    with claim(tmp_path, kind="study") as run:
        run.write_config({"pairs": 3})
        run.save_array("both", np.ones(2))
        run.write_summary({"headlines": []})
        run.mark_complete()
    assert not (tmp_path / "arrays" / "old-only.npy").exists()  # the earlier config's
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert sorted(manifest["files"]) == ["arrays/both.npy", "config.yaml", "summary.json"]
    assert manifest["kind"] == "study" and len(manifest["config_sha256"]) == 64
    assert run.verify() == []
    # Files that are not the finished run's are named by every reader.
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "stale.png").write_bytes(b"png")
    np.save(tmp_path / "arrays" / "both.npy", np.full(2, 7.0))
    problems = run.verify()
    assert len(problems) == 2
    assert "figures/stale.png is not an output" in problems[0]
    assert "arrays/both.npy changed" in problems[1]
    with pytest.raises(BadInput, match="stale.png"):
        check_outputs(tmp_path, "report")


def test_a_directory_of_another_kind_is_refused_untouched(tmp_path):
    with claim(tmp_path, kind="study") as run:
        run.write_config({"study": "sslmem"})
        run.update_meta(study="sslmem")
        run.mark_complete()
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    with pytest.raises(BadInput, match="is a study directory, not an sslmem-score output"):
        with claim(tmp_path, kind="sslmem-score"):
            pass
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before
    # A directory of an earlier version, which recorded no kind, is told by its meta.json.
    legacy = tmp_path / "scores"
    legacy.mkdir()
    (legacy / "meta.json").write_text(json.dumps({"command": "sslmem-score"}))
    with pytest.raises(BadInput, match="is an sslmem-score output directory, not a study"):
        with claim(legacy, kind="study"):
            pass
    with claim(legacy, kind="sslmem-score"):  # its own kind writes it again
        pass


def test_an_orphan_lock_claim_is_removed_by_the_owner(tmp_path):
    orphan = tmp_path / ".LOCK.0123456789abcdef.claim"  # a kill between writing and linking
    orphan.write_text("{}")
    keep = tmp_path / ".LOCK.notatoken.claim"
    keep.write_text("not ours")
    with claim(tmp_path):
        assert not orphan.exists()
    assert keep.exists()
