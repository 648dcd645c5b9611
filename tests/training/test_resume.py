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
from mnemoscope.training import train
from tests.training.configs import tiny_config


def _start(config_path, out):
    command = [
        sys.executable,
        "-m",
        "mnemoscope",
        "train",
        str(config_path),
        "--out",
        str(out),
        "--quiet",
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("kill_after", ["first-checkpoint", "mid-run"])
def test_sigkill_and_restart_matches_uninterrupted_run(tmp_path, fmnist, kill_after):
    config = tiny_config(
        epochs=4, data={"subset": list(range(512))}, measure_at=[], save_epochs=[2]
    )
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    run = RunDir(tmp_path / "killed" / config.run_name)

    child = _start(config_path, tmp_path / "killed")
    deadline = time.monotonic() + 120
    target = run.checkpoint_path("last")
    while not target.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if kill_after == "mid-run":
        time.sleep(0.3)
    assert child.poll() is None, child.stderr.read().decode()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not run.is_complete

    restarted = _start(config_path, tmp_path / "killed")
    assert restarted.wait(timeout=300) == 0, restarted.stderr.read().decode()
    assert run.is_complete

    reference = train(config, tmp_path / "reference", bundle=fmnist, quiet=True)
    killed_weights, _ = run.load_checkpoint("final")
    reference_weights, _ = reference.run.load_checkpoint("final")
    assert killed_weights.keys() == reference_weights.keys()
    for key in reference_weights:
        assert torch.equal(killed_weights[key], reference_weights[key]), key
    assert list(reference.metrics()["epoch"]) == list(
        RunDir(run.path).load_table("metrics")["epoch"]
    )
