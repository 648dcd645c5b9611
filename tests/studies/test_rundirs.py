"""A study directory never says COMPLETE over results that are not its config's: two studies in
one ``--out``, a full disk during a re-run, and SIGKILLs at three moments of a small study.

Every study goes through ``studies.run``'s frame and ``RunDir.write_config``; the profiles study
stands for all three here because it is the cheapest to run end to end.
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mnemoscope import studies
from mnemoscope.locks import LOCK_FILE, LockHeld
from mnemoscope.store import TEMPORARY, RunDir
from tests.studies.conftest import tiny_configs

ROOT = Path(__file__).resolve().parents[2]

# One paradigm, one seed, the smallest figures: a few seconds of work beyond imports.
CONFIG = {
    "study": "profiles",
    "seeds": [0],
    "data": {"name": "fmnist-mini", "train_size": 64},
    "tracking": {"size": 16, "augmentations": 2, "eval_batch_size": 16},
    "train": {
        "model": {"name": "convnet-tiny", "projector_hidden": 16, "output_dim": 8},
        "optim": {"name": "adam", "lr": 0.002},
        "batch_size": 32,
        "epochs": 2,
    },
    "paradigms": [
        {"name": "supervised", "train": {"objective": {"name": "supervised"}}, "measure_every": 1}
    ],
    "figures": {"tsne_images": 10, "tsne_perplexity": 3, "tsne_iterations": 250,
                "activation_steps": 1, "activation_channels": 1},
}  # fmt: skip
OTHER = {**CONFIG, "tracking": {**CONFIG["tracking"], "size": 8}}


def _start(config_path: Path, out: Path) -> subprocess.Popen:
    # The same command for every run compared here, so both sides compute the same way (one
    # thread count whatever the load, for the same bits).
    command = [sys.executable, "-m", "mnemoscope", "--threads", "1", "run", str(config_path),
               "--out", str(out), "--quiet"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def _wait_for(child: subprocess.Popen, ready) -> None:
    deadline = time.monotonic() + 300
    while not ready() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert child.poll() is None, f"finished before the moment: {child.stderr.read().decode()}"


def _files(out: Path) -> dict[str, bytes]:
    """The study's own results by relative path (not the runs it trained, not meta.json)."""
    return {
        str(path.relative_to(out)): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file() and "runs" not in path.relative_to(out).parts
        and path.name != "meta.json"
    }  # fmt: skip


def _assert_same_results(out: Path, reference: Path) -> None:
    ours, theirs = _files(out), _files(reference)
    assert sorted(ours) == sorted(theirs)
    assert yaml.safe_load(ours["config.yaml"]) == yaml.safe_load(theirs["config.yaml"])
    for name in theirs:
        if name.endswith(".npy"):
            np.testing.assert_array_equal(np.load(out / name), np.load(reference / name), name)
        elif name.endswith(".parquet") and name != "tables/training.parquet":  # has timings
            pd.testing.assert_frame_equal(pd.read_parquet(out / name),
                                          pd.read_parquet(reference / name))  # fmt: skip


def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name == LOCK_FILE or TEMPORARY.fullmatch(p.name)]


@pytest.fixture(scope="module")
def contested(tmp_path_factory):
    """CONFIG run by a child process into ``out`` while this process tries OTHER there too."""
    work = tmp_path_factory.mktemp("contested")
    config_path = work / "config.yaml"
    config_path.write_text(yaml.safe_dump(CONFIG))
    out = work / "out"
    # Import the study first: on a busy machine the import alone outlasted the child's run.
    other = studies.load_config(OTHER)
    child = _start(config_path, out)
    _wait_for(child, lambda: (out / LOCK_FILE).exists())
    try:
        studies.run(other, out, quiet=True)
        refusal = None
    except LockHeld as error:
        refusal = error
    # The refused study wrote nothing: the config, if any yet, is the first study's.
    seen = (
        yaml.safe_load((out / "config.yaml").read_text())
        if (out / "config.yaml").exists()
        else None
    )
    assert child.wait(timeout=600) == 0, child.stderr.read().decode()
    return out, child.pid, refusal, seen


@pytest.mark.slow
def test_a_second_study_in_the_same_out_is_refused_naming_the_first(contested):
    out, pid, refusal, seen = contested
    assert refusal is not None, "two studies ran in one directory at once"
    assert f"pid {pid}" in str(refusal) and str(out) in str(refusal)
    assert seen is None or seen["tracking"]["size"] == 16
    run = RunDir(out)
    assert run.is_complete and run.read_config()["tracking"]["size"] == 16
    # Exactly one config's results: every array and table is the first study's.
    assert len(run.load_array("tracked-ids")) == 16
    assert run.load_array("supervised-indicators").shape[-1] == 16
    assert _leftovers(out) == []


def _fail_on(monkeypatch, target: str) -> None:
    """Make the atomic write of ``target`` (a file name) hit a full disk half-way through."""
    import mnemoscope.store as store

    original = store.atomic_write

    def atomic_write(path, write):
        if Path(path).name != target:
            return original(path, write)

        def half_then_full(file):
            file.write(b"half of it")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return original(path, half_then_full)

    monkeypatch.setattr(store, "atomic_write", atomic_write)


@pytest.mark.slow
@pytest.mark.parametrize("config", [CONFIG, OTHER], ids=["same-config", "other-config"])
def test_a_full_disk_during_a_rerun_leaves_no_complete_and_no_partial_file(
    contested, tmp_path, monkeypatch, config
):
    reference = contested[0]
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    _fail_on(monkeypatch, "training.parquet")  # after the arrays, before tables and figures
    with pytest.raises(OSError, match="No space left"):
        studies.run(studies.load_config(config), out, quiet=True)
    run = RunDir(out)
    assert not run.is_complete  # never COMPLETE over a mix of two runs' files
    assert run.read_config() == studies.load_config(config).model_dump(mode="json")
    assert _leftovers(out) == []
    before, after = _files(reference), _files(out)
    assert sorted(after) == sorted(set(before) - {"COMPLETE", "MANIFEST.json"})  # nothing partial
    # Files the re-run had not reached are the previous results, byte for byte; the failed
    # table kept its previous version.
    for name in ("tables/training.parquet", "tables/recognition.parquet", "summary.json",
                 "figures/fig1_profiles.png"):  # fmt: skip
        assert after[name] == before[name], name
    if config is CONFIG:  # finishing the same config completes the directory again
        monkeypatch.undo()
        assert studies.run(studies.load_config(config), out, quiet=True).is_complete
        np.testing.assert_allclose(run.load_array("supervised-probabilities"),
                                   RunDir(reference).load_array("supervised-probabilities"),
                                   atol=1e-3)  # fmt: skip


@pytest.mark.slow
def test_sigkill_at_three_moments_then_resume_matches_an_uninterrupted_run(contested, tmp_path):
    reference = contested[0]  # run by the same command, uninterrupted
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "out"
    moments = {
        "training": lambda: any((out / "runs").glob("*/checkpoints/last.safetensors")),
        "analysis": lambda: (out / "arrays" / "supervised-indicators.npy").exists(),
        "figures": lambda: any((out / "figures").glob("*.png")),
    }
    for moment, ready in moments.items():
        child = _start(config_path, out)
        _wait_for(child, ready)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert not RunDir(out).is_complete, moment
        assert (out / LOCK_FILE).exists()  # a stale lock the next start takes over
    resumed = _start(config_path, out)
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read().decode()
    assert RunDir(out).is_complete and _leftovers(out) == []
    _assert_same_results(out, reference)


def _tiny_configs():
    return {**tiny_configs(), "profiles": CONFIG}  # the cheapest profiles study of all


def _finished_directory(out: Path) -> dict[str, bytes]:
    run = RunDir(out)
    run.write_config({"study": "old"})
    run.save_array("old", np.zeros(3))
    run.mark_complete()
    return _files(out)


@pytest.mark.parametrize("name", studies.names())
def test_every_study_refuses_a_locked_directory_without_touching_it(tmp_path, name):
    before = _finished_directory(tmp_path)
    holder = {"pid": 4242, "host": "worker-3", "started": "2026-01-01T00:00:00+00:00",
              "token": "t"}  # fmt: skip
    (tmp_path / LOCK_FILE).write_text(json.dumps(holder))
    config = studies.load_config(_tiny_configs()[name])
    with pytest.raises(LockHeld, match="pid 4242 on host worker-3"):
        studies.run(config, tmp_path, quiet=True)
    assert _files(tmp_path) == {**before, LOCK_FILE: json.dumps(holder).encode()}


@pytest.mark.parametrize("name", studies.names())
def test_every_study_removes_complete_before_its_first_write(tmp_path, monkeypatch, name):
    import mnemoscope.store as store

    _finished_directory(tmp_path)
    written = []

    def stop_at_first_write(path, write):
        written.append((Path(path).relative_to(tmp_path), (tmp_path / "COMPLETE").exists()))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store, "atomic_write", stop_at_first_write)
    config = studies.load_config(_tiny_configs()[name])
    with pytest.raises(OSError, match="No space"):
        studies.run(config, tmp_path, quiet=True)
    assert written == [(Path("config.yaml"), False)]
    assert not RunDir(tmp_path).is_complete and not (tmp_path / LOCK_FILE).exists()


@pytest.mark.parametrize("name", studies.names())
def test_a_rerun_refused_by_its_input_leaves_a_finished_directory_as_it_was(tmp_path, name):
    """A config that validates but names a dataset that does not exist: the study refuses
    before its first write, so config.yaml and COMPLETE still describe the finished results."""
    before = _finished_directory(tmp_path)
    config = _tiny_configs()[name]
    config = {**config, "data": {**config.get("data", {}), "name": "no-such-dataset"}}
    with pytest.raises(ValueError, match="no-such-dataset"):
        studies.run(studies.load_config(config), tmp_path, quiet=True)
    assert _files(tmp_path) == before and RunDir(tmp_path).is_complete


# --- a training run is complete only with all of its records (issue 25, finding 2) -----------

_KILL_AFTER_FINAL_CHECKPOINT = """
import os, signal, sys
from mnemoscope.training import TrainConfig, engine

config = TrainConfig.model_validate_json(sys.argv[2])
save_history = engine._save_history

def kill_before_the_last_metrics(run, history):
    # Called after each epoch's checkpoint: the final epoch's 'last' exists now, its metrics not.
    if len(history) == config.epochs and run.checkpoint_path("last").exists():
        os.kill(os.getpid(), signal.SIGKILL)
    save_history(run, history)

engine._save_history = kill_before_the_last_metrics
engine.train(config, sys.argv[1], quiet=True)
"""


def test_a_kill_between_the_final_checkpoint_and_its_metrics_is_repaired_on_resume(tmp_path):
    from mnemoscope.training import TrainConfig, train

    config = TrainConfig.model_validate({
        "data": {"name": "fmnist-mini", "subset": list(range(64))},
        "model": {"name": "convnet-tiny", "projector_hidden": 16, "output_dim": 8},
        "epochs": 2, "batch_size": 32, "seed": 0,
    })  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.run([sys.executable, "-c", _KILL_AFTER_FINAL_CHECKPOINT, str(tmp_path),
                            config.model_dump_json()], env=env, capture_output=True)  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    (run_dir,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    killed = RunDir(run_dir)
    assert not killed.is_complete and killed.checkpoint_path("last").exists()
    assert killed.load_table("metrics")["epoch"].tolist() == [1]  # the moment of the kill
    result = train(config, tmp_path, quiet=True)  # resumes: no epoch left to train
    assert result.run.is_complete
    assert result.metrics()["epoch"].tolist() == [1, 2]
    assert _leftovers(tmp_path) == []


def test_a_repeated_study_into_a_finished_unrepeated_one_leaves_no_stale_outputs(tmp_path):
    """The unrepeated study's arrays, tables and figures are not the repeated one's: under
    COMPLETE, the directory holds only the combined result (and the report shows no stale
    figure)."""
    from mnemoscope.reports.collect import collect

    out = tmp_path / "out"
    studies.run(studies.load_config(CONFIG), out, quiet=True)
    unrepeated = {path.name for path in (out / "figures").glob("*.png")}
    assert unrepeated  # the unrepeated study's own
    repeated = studies.load_config({**CONFIG, "repeat": {"study_seeds": [0]}})
    run = studies.run(repeated, out, quiet=True)
    assert run.is_complete and run.verify() == []
    outputs = sorted(str(p.relative_to(out)) for p in out.glob("*/*")
                     if p.parent.name in ("arrays", "tables"))  # fmt: skip
    assert outputs == ["tables/repeat_findings.csv", "tables/repeat_findings.parquet"]
    combined = sorted((out / "figures").glob("*.png"))  # drawn over the study seeds by this run
    assert combined and not {path.name for path in combined} & unrepeated
    (study,) = collect(out)
    assert study.figures == combined
    assert not any("not an output" in line for line in study.missing)
