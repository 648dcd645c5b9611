"""Backends train the very runs ``local`` trains: worker processes (one killed mid-run),
submitit's local executor and a two-node Ray cluster on 127.0.0.1; unshared storage is refused.
A stale ~/.ray/auth_token breaks neither that cluster nor a local Ray instance, and a cluster
that refuses the driver's token says so at once."""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import torch

from mnemoscope import data
from mnemoscope.environment import torch_threads
from mnemoscope.execution import (
    Backend,
    ExecutionConfig,
    Local,
    StorageNotShared,
    make_backend,
    train_all,
)
from mnemoscope.execution.processes import Processes
from mnemoscope.store import RunDir
from mnemoscope.training import RunSpec
from tests.training.configs import tiny_config


def _specs(seeds, **overrides):
    return [RunSpec(tiny_config(seed=seed, **overrides)) for seed in seeds]


def _assert_same_runs(results, references):
    assert [r.run.path.name for r in results] == [r.run.path.name for r in references]
    for result, reference in zip(results, references, strict=True):
        weights, _ = result.run.load_checkpoint("final")
        expected, _ = reference.run.load_checkpoint("final")
        assert weights.keys() == expected.keys()
        for key in expected:
            assert torch.equal(weights[key], expected[key]), (result.run.path.name, key)
        assert list(result.metrics()["loss"]) == list(reference.metrics()["loss"])


def _local(specs, root, fmnist):
    # the workers train with one thread: so does the local reference, for the same bits
    with torch_threads(1):
        return train_all(specs, root, bundle=fmnist, quiet=True)


def test_processes_train_what_local_trains(tmp_path, fmnist):
    specs = _specs([0, 1, 0])  # a repeated spec trains once
    results = train_all(specs, tmp_path / "processes", Processes(workers=2, threads_per_run=1))
    _assert_same_runs(results, _local(specs, tmp_path / "local", fmnist))
    assert len(list((tmp_path / "processes").glob("supervised-*"))) == 2


def test_a_worker_killed_mid_run_is_replaced_and_the_run_resumes(tmp_path, fmnist):
    specs = _specs([0], epochs=4, data={"subset": list(range(512))}, save_epochs=[2])
    run = RunDir(tmp_path / "killed" / specs[0].run_name)
    backend = Processes(workers=1, threads_per_run=1, retries=2)
    thread, outcome = _train_in_background(specs, tmp_path / "killed", backend)
    deadline = time.monotonic() + 300
    while not run.checkpoint_path("epoch-0002").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    worker = run.read_meta()["worker"]["pid"]
    os.kill(worker, signal.SIGKILL)  # mid-run: writing epoch 2's state or training epoch 3
    thread.join(timeout=600)
    assert "error" not in outcome, outcome.get("error")
    assert run.read_meta()["worker"]["pid"] != worker  # another worker finished it
    _assert_same_runs(outcome["results"], _local(specs, tmp_path / "local", fmnist))


def _train_in_background(specs, root, backend) -> tuple[threading.Thread, dict]:
    """``train_all`` in a thread (the test kills its worker meanwhile); the outcome dict gets
    ``results`` or the ``error`` raised."""
    outcome = {}

    def work():
        try:
            outcome["results"] = train_all(specs, root, backend)
        except BaseException as error:  # noqa: BLE001 - reported by the caller's assertion
            outcome["error"] = error

    thread = threading.Thread(target=work)
    thread.start()
    return thread, outcome


class _ElsewhereBackend(Backend):
    """A worker on a machine that mounts other storage at the same path: it sees nothing."""

    name = "elsewhere"

    def probe(self, path):
        return None

    def run(self, specs, root, done, **in_process):
        raise AssertionError("nothing may train when the storage is not shared")


class _CountingLocal(Local):
    """``Local``, noting which runs it is handed."""

    def __init__(self):
        self.handed: list[list[str]] = []

    def run(self, specs, root, done, **in_process):
        self.handed.append([spec.run_name for spec in specs])
        super().run(specs, root, done, **in_process)


def test_local_trains_here_with_the_bundle_and_display_and_never_retrains(
    tmp_path, fmnist, monkeypatch
):
    from rich.progress import Progress

    def no_loading(*args, **kwargs):
        raise AssertionError("local training uses the bundle it is given")

    monkeypatch.setattr(data, "load", no_loading)
    specs = _specs([0, 1, 0], epochs=1)
    names = [spec.run_name for spec in specs[:2]]
    backend, finished = _CountingLocal(), []
    with Progress(disable=True) as display:
        results = train_all(specs, tmp_path, backend, bundle=fmnist, progress=display,
                            done=finished.append)  # fmt: skip
        assert [task.description for task in display.tasks] == names  # one run after another
    assert backend.handed == [names] and [spec.run_name for spec in finished] == names
    assert [r.run.path.name for r in results] == [names[0], names[1], names[0]]
    stamp = results[0].run.checkpoint_path("final").stat().st_mtime_ns
    again = train_all(specs, tmp_path, backend, bundle=fmnist, quiet=True)
    assert again[0].run.path == results[0].run.path
    assert backend.handed == [names]  # finished runs are not handed to any backend again
    assert results[0].run.checkpoint_path("final").stat().st_mtime_ns == stamp
    # a finished run that lacks the probe its spec asks for gains it, without training again
    probed = _specs([0], epochs=1, probe={"train_limit": 100, "test_limit": 50, "linear": False})
    assert train_all(probed, tmp_path, backend, bundle=fmnist, quiet=True)[0].probe() is not None
    assert backend.handed[-1] == [names[0]]
    assert results[0].run.checkpoint_path("final").stat().st_mtime_ns == stamp


def test_storage_the_workers_cannot_see_is_refused_before_any_training(tmp_path):
    with pytest.raises(StorageNotShared, match="do not see the run directory"):
        train_all(_specs([0]), tmp_path, _ElsewhereBackend())
    assert not any(path.name.startswith("supervised") for path in tmp_path.iterdir())


def test_submitit_local_array_trains_what_local_trains(tmp_path, fmnist):
    pytest.importorskip("submitit")
    config = ExecutionConfig(backend="slurm", cluster="local", cpus_per_run=1, time_min=20)
    specs = _specs([0, 1])
    results = train_all(specs, tmp_path / "slurm", make_backend(config))
    _assert_same_runs(results, _local(specs, tmp_path / "local", fmnist))


def test_a_preempted_slurm_task_requeues_itself_with_the_same_run():
    # submitit calls checkpoint() on preemption or timeout and submits what it returns: the
    # same task on the same spec, which then resumes the run from its last checkpoint (the
    # resume itself is tested with a killed worker above)
    pytest.importorskip("submitit")
    from submitit.helpers import DelayedSubmission

    from mnemoscope.execution.slurm import Task

    task = Task()
    requeued = task.checkpoint(_specs([0])[0].to_json(), "/shared/runs", 1)
    assert isinstance(requeued, DelayedSubmission)
    assert requeued.function is task
    assert requeued.args == (_specs([0])[0].to_json(), "/shared/runs", 1)


def test_slurm_takes_whole_gpus_only():
    with pytest.raises(ValueError, match="whole GPUs"):
        ExecutionConfig(backend="slurm", gpus_per_run=0.5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def stale_home(tmp_path_factory):
    """HOME as on a machine where Ray ran before: ~/.ray/auth_token holds a token that no cluster
    of these tests uses (``ray start --head`` turns token authentication on when it exists)."""
    home = tmp_path_factory.mktemp("home")
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text(secrets.token_hex(32))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        yield home


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``, with a file's content (None for a directory)."""
    return {str(path.relative_to(root)): None if path.is_dir() else path.read_bytes()
            for path in root.rglob("*")}  # fmt: skip


@pytest.fixture(scope="module")
def ray_cluster(stale_home):
    """A head node on 127.0.0.1 and a second node joined to it, one CPU each, in a HOME with a
    stale Ray token. Every Ray process names 127.0.0.1 as its node address (Ray resolves it to
    this machine's own address): the test never makes Ray talk to another machine. The cluster
    has a token of its own, in its temp directory, that every process reads (the drivers
    included): whatever ~/.ray/auth_token holds, nothing reads or writes it."""
    ray = pytest.importorskip("ray")
    from mnemoscope.execution.ray_backend import ray_authentication

    executable = str(Path(sys.executable).parent / "ray")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="/tmp/rt")  # short: Ray's socket paths have a length limit
    token = Path(temp) / "auth_token"
    token.write_text(secrets.token_hex(32))
    common = ["--num-cpus=1", "--disable-usage-stats", "--block", "--node-ip-address=127.0.0.1",
              "--object-store-memory=80000000"]  # fmt: skip
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    address = f"127.0.0.1:{port}"
    # set in this process: the nodes inherit it, and so does each test's backend
    with ray_authentication(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token)):
        head = subprocess.Popen([executable, "start", "--head", f"--port={port}",
                                 f"--temp-dir={temp}", "--include-dashboard=false", *common],
                                **quiet)  # fmt: skip
        nodes = [head]
        try:
            deadline = time.monotonic() + 180
            while True:
                with contextlib.suppress(Exception):
                    ray.init(address=address, log_to_driver=False, _node_ip_address="127.0.0.1")
                    break
                assert time.monotonic() < deadline and head.poll() is None, (
                    "the Ray head did not start")  # fmt: skip
                time.sleep(1)
            nodes.append(subprocess.Popen([executable, "start", f"--address={address}",
                                           *common], **quiet))  # fmt: skip
            while len([node for node in ray.nodes() if node["Alive"]]) < 2:
                assert time.monotonic() < deadline, "the second Ray node did not join"
                time.sleep(1)
            ray.shutdown()  # each test's backend connects by itself, as `mnemoscope run` does
            yield address
        finally:
            ray.shutdown()
            for node in reversed(nodes):  # ray start --block stops what it started on SIGTERM
                node.send_signal(signal.SIGTERM)
                try:
                    node.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    node.kill()
    shutil.rmtree(temp, ignore_errors=True)


def test_ray_cluster_trains_four_seeds_as_local_does(tmp_path, fmnist, ray_cluster):
    config = ExecutionConfig(backend="ray", address=ray_cluster, cpus_per_run=1, threads_per_run=1)
    specs = _specs([0, 1, 2, 3])
    backend = make_backend(config)
    try:
        results = train_all(specs, tmp_path / "ray", backend)
    finally:
        backend.close()
    _assert_same_runs(results, _local(specs, tmp_path / "local", fmnist))
    workers = {RunDir(result.run.path).read_meta()["worker"]["pid"] for result in results}
    assert len(workers) >= 2  # the runs went to more than one worker


def test_a_ray_worker_killed_mid_run_is_retried_and_resumes(tmp_path, fmnist, ray_cluster):
    specs = _specs([0], epochs=6, data={"subset": list(range(512))}, save_epochs=[2],
                   checkpoint_every=1)  # fmt: skip
    run = RunDir(tmp_path / "ray" / specs[0].run_name)
    config = ExecutionConfig(backend="ray", address=ray_cluster, cpus_per_run=1,
                             threads_per_run=1, retries=2)  # fmt: skip
    backend = make_backend(config)

    def after_epoch_two() -> bool:  # epoch 2's weights, then its full state ('last')
        saved, last = run.checkpoint_path("epoch-0002"), run.checkpoint_path("last")
        return (saved.exists() and last.exists()
                and last.stat().st_mtime_ns >= saved.stat().st_mtime_ns)  # fmt: skip

    thread, outcome = _train_in_background(specs, tmp_path / "ray", backend)
    try:
        deadline = time.monotonic() + 300
        while not after_epoch_two() and time.monotonic() < deadline:
            time.sleep(0.01)
        stamp = run.checkpoint_path("epoch-0002").stat().st_mtime_ns
        worker = run.read_meta()["worker"]["pid"]
        os.kill(worker, signal.SIGKILL)  # the Ray worker process, mid-run
        thread.join(timeout=600)
    finally:
        backend.close()
    assert "error" not in outcome, outcome.get("error")
    assert run.read_meta()["worker"]["pid"] != worker  # Ray retried the task elsewhere
    # it resumed from the checkpoint: epochs 1-2 were not trained (and saved) again
    assert run.checkpoint_path("epoch-0002").stat().st_mtime_ns == stamp
    _assert_same_runs(outcome["results"], _local(specs, tmp_path / "local", fmnist))


def test_a_stale_home_token_breaks_neither_the_cluster_nor_a_local_instance(
    tmp_path, stale_home, ray_cluster
):
    from mnemoscope.execution.ray_backend import AUTH_VARIABLES, Ray, ray_authentication

    ray = pytest.importorskip("ray")
    home = _tree(stale_home)
    probe = tmp_path / "probe"
    probe.write_text("seen")
    cluster = Ray(address=ray_cluster)
    try:
        assert cluster.probe(probe) == "seen"
    finally:
        cluster.close()
    with ray_authentication():  # a user's shell sets none of Ray's authentication variables
        local = Ray()  # no address: a local instance, with a token of its own
        try:
            assert local.probe(probe) == "seen"
            token = ray.get(ray.remote(lambda: os.environ.get("RAY_AUTH_TOKEN")).remote())
        finally:
            local.close()
        assert not [name for name in AUTH_VARIABLES if name in os.environ]  # as they were
    assert token and token.encode() != home[".ray/auth_token"]  # the workers' own, not HOME's
    assert _tree(stale_home) == home  # nothing read from it changed, nothing written


def test_a_cluster_that_refuses_the_drivers_token_says_so_at_once(tmp_path, ray_cluster):
    from mnemoscope.errors import exit_code
    from mnemoscope.execution.ray_backend import Ray, RayAuthenticationError, ray_authentication

    probe = tmp_path / "probe"
    probe.write_text("seen")
    home_token = str(Path.home() / ".ray" / "auth_token")
    # no token: what a driver given an address presents when the cluster's head found a token
    # in ~/.ray/auth_token; then a token that is not the cluster's
    for variables, says in (({}, "presented none"),
                            ({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)},
                             "refused this driver's authentication token")):  # fmt: skip
        with ray_authentication(**variables):
            backend = Ray(address=ray_cluster)
            start = time.monotonic()
            with pytest.raises(RayAuthenticationError, match=says) as refused:
                backend.probe(probe)
            elapsed = time.monotonic() - start
            backend.close()
        assert elapsed < 10  # ray.init alone retries for 20 s, then cannot say why
        assert home_token in str(refused.value) and "RAY_AUTH_MODE" in str(refused.value)
        assert exit_code(refused.value) == 2  # the user's to fix


_MAIN_WITH_A_BUSY_WORKER = """
import os, sys, time
from mnemoscope.execution.processes import Processes

if __name__ == "__main__":
    pool = Processes(workers=1)._pool(1)
    worker = pool.submit(os.getpid).result()
    pool.submit(time.sleep, 600)  # a long training, as far as the worker knows
    print(worker, flush=True)
    time.sleep(600)
"""


def test_workers_die_with_the_main_process(tmp_path):
    """SIGKILL of ``mnemoscope run`` cannot stop its workers itself: the kernel does
    (PR_SET_PDEATHSIG), so no worker goes on training for a study nobody waits for."""
    from mnemoscope.locks import _process

    script = tmp_path / "main.py"
    script.write_text(_MAIN_WITH_A_BUSY_WORKER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    main = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env)
    worker = int(main.stdout.readline())
    assert _process(worker)[0] not in (None, "Z", "X")  # busy now
    os.kill(main.pid, signal.SIGKILL)
    main.wait()
    deadline = time.monotonic() + 60  # a bound, not a timing: old workers slept 600 s
    while _process(worker)[0] not in (None, "Z", "X") and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _process(worker)[0] not in (None, "Z", "X")
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the worker went on after the main process was killed"


def test_a_backend_that_cannot_start_is_bad_input_naming_what_to_fix(tmp_path, monkeypatch):
    """Nothing ran: exit 2 naming the setting (it was exit 1, 'the run failed')."""
    from mnemoscope.errors import BadInput, exit_code
    from mnemoscope.execution import ray_backend, slurm
    from mnemoscope.execution.config import ExecutionConfig

    pytest.importorskip("submitit")
    monkeypatch.setattr(slurm.shutil, "which", lambda name: None)  # no sbatch here
    with pytest.raises(BadInput, match="sbatch, which is not on this machine's PATH") as no:
        slurm.Slurm(ExecutionConfig(backend="slurm"))._executor(tmp_path)
    assert exit_code(no.value) == 2

    class Unreachable:  # ray.init after its retries, without waiting for them
        @staticmethod
        def is_initialized():
            return False

        @staticmethod
        def init(**options):
            raise ConnectionError("could not connect to 10.0.0.1:1")

    monkeypatch.setattr(ray_backend, "_ray", lambda: Unreachable)
    monkeypatch.setattr(ray_backend, "_check_token", lambda address: None)
    with pytest.raises(BadInput, match=r"execution.address \(--address\) '10.0.0.1:1'") as no:
        ray_backend.Ray(address="10.0.0.1:1")._connect()
    assert exit_code(no.value) == 2


def test_run_refuses_an_unreachable_ray_address_before_writing_anything(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from mnemoscope.cli import app
    from mnemoscope.config_file import packaged_config

    with socket.socket() as free:  # a port nothing listens on, on this machine only
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    config = tmp_path / "quick.yaml"
    config.write_text(yaml.safe_dump(packaged_config("sslmem-quick")))
    out = tmp_path / "out"
    started = time.monotonic()
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(out), "--backend", "ray",
                                      "--address", f"127.0.0.1:{port}"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"'127.0.0.1:{port}': no Ray cluster could be reached there" in result.output
    assert not out.exists()  # no config.yaml, meta.json or runs/ of a study that never ran
    assert time.monotonic() - started < 10  # one refused connection, not ray.init's retries
