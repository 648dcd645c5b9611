"""The same config trained by two processes at once: the run directory's lock makes the second
wait, then find the run complete; the network is trained once."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from mnemoscope.store import RunDir
from tests.training.configs import tiny_config

ROOT = Path(__file__).resolve().parents[2]

# Each child says it is about to train (a file ``entered-PID``) and calls train(). The hook, run
# by whoever trains, logs its pid and holds the training at epoch 0 until both children have
# entered: without the lock, the second would find the run incomplete and train it too.
CHILD = """
    import os, sys, time
    from pathlib import Path
    import numpy as np
    import yaml
    from mnemoscope.training import Hook, RunSpec, TrainConfig, train
    work = Path(sys.argv[1])
    config = TrainConfig.model_validate(yaml.safe_load((work / "config.yaml").read_text()))
    class Log(Hook):
        work: str
        def __call__(self, model, epoch):
            with open(Path(self.work) / "trained-by", "a") as log:
                log.write(f"{os.getpid()} {epoch}\\n")
            while len(list(Path(self.work).glob("entered-*"))) < 2:
                time.sleep(0.01)
            return {"pid": np.array([os.getpid()])}
    while not (work / "go").exists():
        time.sleep(0.01)
    (work / f"entered-{os.getpid()}").touch()
    spec = RunSpec(config, hooks={"log": Log(work=str(work))})
    result = train(spec, work / "runs", quiet=True)
    print(result.run.path, flush=True)
"""


def test_the_same_config_started_twice_at_once_trains_once(tmp_path):
    config = tiny_config(measure_at=[0, 2])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json")))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-c", textwrap.dedent(CHILD), str(tmp_path)]
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    (tmp_path / "go").touch()
    outputs = [child.communicate(timeout=300) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err.decode()
    paths = {out.decode().strip() for out, _ in outputs}
    assert len(paths) == 1  # both returned the one run
    run = RunDir(paths.pop())
    assert run.path.parent == tmp_path / "runs"
    assert run.is_complete and not (run.path / "LOCK").exists()
    log = (tmp_path / "trained-by").read_text().split()
    trainers = set(log[0::2])
    assert len(trainers) == 1, f"trained by {trainers}"
    assert log[1::2] == ["0.0", "2.0"]
    # The other child waited for the lock and said who held it.
    waited = [err.decode() for child, (_, err) in zip(children, outputs, strict=True)
              if str(child.pid) not in trainers]  # fmt: skip
    assert f"locked by pid {trainers.pop()}" in waited[0]
