"""A run killed with SIGKILL and started again ends with the weights of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from mnemoscope.store import RunDir
from mnemoscope.training import RunSpec, train
from tests.training.configs import tiny_config
from tests.training.conftest import method_config


def _start(config_path, out):
    command = [
        sys.executable,
        "-m",
        "mnemoscope",
        "--threads",  # the reference's count (tests/conftest.py): the same bits
        str(torch.get_num_threads()),
        "train",
        str(config_path),
        "--out",
        str(out),
        "--quiet",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_and_restart(tmp_path, config, kill_after, resumes_from=None):
    """Train ``config`` in a child process, SIGKILL it as soon as its first checkpoint exists
    ("first-checkpoint") or its epoch-2 weights do ("mid-run": it is then writing epoch 2's
    state or training epoch 3), or the checkpoint named ``kill_after`` does, start it again to
    the end, and return its run directory. ``resumes_from``: the epoch the killed run's
    ``last`` checkpoint must hold, checked before the restart."""
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    run = RunDir(tmp_path / "killed" / RunSpec(config).run_name)

    child = _start(config_path, tmp_path / "killed")
    deadline = time.monotonic() + 120
    # A fixed sleep after the first checkpoint raced an idle machine, which finished first.
    names = {"first-checkpoint": "last", "mid-run": "epoch-0002"}
    target = run.checkpoint_path(names.get(kill_after, kill_after))
    while not target.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert child.poll() is None, child.stderr.read().decode()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not run.is_complete
    if resumes_from is not None:
        _, metadata = run.load_checkpoint("last")
        assert metadata["epoch"] == str(resumes_from)

    restarted = _start(config_path, tmp_path / "killed")
    assert restarted.wait(timeout=300) == 0, restarted.stderr.read().decode()
    assert run.is_complete
    return run


@pytest.mark.parametrize("kill_after", ["first-checkpoint", "mid-run"])
def test_sigkill_and_restart_matches_uninterrupted_run(tmp_path, fmnist, kill_after):
    config = tiny_config(
        epochs=4, data={"subset": list(range(512))}, measure_at=[], save_epochs=[2],
        checkpoint_every=1,
    )
    run = _kill_and_restart(tmp_path, config, kill_after)

    reference = train(config, tmp_path / "reference", bundle=fmnist, quiet=True)
    killed_weights, _ = run.load_checkpoint("final")
    reference_weights, _ = reference.run.load_checkpoint("final")
    assert killed_weights.keys() == reference_weights.keys()
    for key in reference_weights:
        assert torch.equal(killed_weights[key], reference_weights[key]), key
    assert list(reference.metrics()["epoch"]) == list(
        RunDir(run.path).load_table("metrics")["epoch"]
    )


def test_sigkill_between_sparse_checkpoints_repeats_the_lost_epochs_exactly(tmp_path, fmnist):
    # 'last' is written after epochs 3 and 6 only. Killed once the epoch-4 weights exist (it
    # is then in epoch 4, 5 or 6, before its next checkpoint), the run resumes from epoch 3,
    # trains epochs 4 to 6 again, and must end where an uninterrupted run ends.
    config = tiny_config(epochs=6, data={"subset": list(range(512))}, checkpoint_every=3,
                         save_epochs=[4])  # fmt: skip
    run = _kill_and_restart(tmp_path, config, "epoch-0004", resumes_from=3)

    reference = train(config, tmp_path / "reference", bundle=fmnist, quiet=True)
    for name in ("final", "epoch-0004", "last"):  # weights, and the whole resumable state
        killed_state, _ = run.load_checkpoint(name)
        reference_state, _ = reference.run.load_checkpoint(name)
        assert killed_state.keys() == reference_state.keys()
        for key in reference_state:
            assert torch.equal(killed_state[key], reference_state[key]), (name, key)
    assert list(RunDir(run.path).load_table("metrics")["epoch"]) == [1, 2, 3, 4, 5, 6]


def test_sigkilled_dino_resumes_its_teacher_center_and_schedules_exactly(tmp_path, fmnist):
    # DINO is the most stateful method: an EMA teacher, the loss's center, a momentum and a
    # temperature scheduled by step and epoch, a last layer frozen for the first epoch (and
    # here a learning-rate warm-up, a chained scheduler).
    config = method_config(
        "dino", objective={"warmup_teacher_temp_epochs": 2}, epochs=3,
        data={"subset": list(range(512))}, optim={"warmup_epochs": 1.5}, checkpoint_every=1,
    )  # fmt: skip
    run = _kill_and_restart(tmp_path, config, "first-checkpoint")
    reference = train(config, tmp_path / "reference", bundle=fmnist, quiet=True)
    killed_state, _ = run.load_checkpoint("last")
    reference_state, _ = reference.run.load_checkpoint("last")
    assert killed_state.keys() == reference_state.keys()
    assert any(key.startswith("objective/teacher.") for key in reference_state)
    assert "objective/loss.center" in reference_state
    for key in reference_state:  # network, objective, optimizer, scheduler and generator
        assert torch.equal(killed_state[key], reference_state[key]), key
