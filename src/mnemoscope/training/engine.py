"""Train one network: a pure, idempotent function of its spec that owns one run directory.

``train(spec, root)`` writes ``root/<objective>-s<seed>-<key>/`` (``RunSpec.run_name``: the key
hashes the config and the descriptions of the data recipe and hooks; see ``spec``). A complete
run is returned untouched, a partial one resumes from its last checkpoint, and a fresh one
starts. A run is complete only with all of its records: the final and ``last`` checkpoints,
a metrics row for every epoch and the measurements of every ``measure_at`` point
(``missing_records``); a run marked complete without them (killed between its last
checkpoint and its metrics by an earlier version) is resumed to write them. Nothing here is
global: the unit a backend fans out (``mnemoscope.execution``) is exactly one call.

Determinism: the seed is split into two streams, one for the initial weights (drawn inside
``torch.random.fork_rng`` so the caller's global RNG is left alone) and one generator that
draws data order and every augmentation. The generator's state is checkpointed with the
weights, optimizer and scheduler in ``last`` at the end of every ``config.checkpoint_every``-th
epoch (by default: of the first epoch that ends ``CHECKPOINT_SECONDS`` after the previous
checkpoint) and of the last one, so a run killed at any point and started again repeats the
epochs after its latest checkpoint and finishes with the same weights, bit for bit, as one that
was never stopped. Bits depend on torch's thread count too: a fresh run takes the cores free as
it starts (``environment.run_threads``), records the count in ``meta.json`` (``threads``), and a
resumed run keeps it.

Measurement hooks (``spec.Hook`` objects): ``hooks[name](model, epoch)`` is called with the
network in eval mode, under ``torch.no_grad`` and in fp32, at every epoch of
``config.measure_at``: 0 = initialization, before any step; a fraction is measured mid-epoch at
the nearest optimizer step, and a positive point never before the first step. Points that fall
on the same step are measured once (the hooks see the first of them) and stored under each.
Hooks return a dict of arrays (tensors or anything ``np.asarray`` takes), stored in
``measurements/``; they never see the training generator, so they cannot change training. Their
time is the metrics' ``measure_seconds``; the initialization's counts in epoch 1's row (in its
``seconds`` too), so ``seconds - measure_seconds`` is always the training time and the
columns' sums cover the whole run.

Objectives may own modules (prediction heads, EMA teachers, the MAE decoder; see
``objectives.base``): built with the network under its initialization seed, optimized with it
where they have gradients, and checkpointed in ``last`` beside it. ``final`` and ``epoch-NNNN``
hold the network alone, which ``load_network`` rebuilds. With ``config.alignment_lambda`` > 0 the
loss is paper 002's eq. 3 (see ``regularizer``); with ``config.probe``, the final encoder's kNN
and linear probe accuracies are stored in ``tables/probe`` (see ``probe``). With
``config.privacy`` every step is DP-SGD through Opacus, in fp32, on Poisson-sampled batches, and
the epsilon spent is recorded (see ``privacy``).
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import Progress
from torch import nn

from mnemoscope import augment, data, models
from mnemoscope.environment import autocast_dtype, pick_device, run_environment, run_threads
from mnemoscope.progress import add_task, progress_display
from mnemoscope.store import (
    RunDir,
    atomic_write,
    atomic_write_text,
    claim,
    load_safetensors,
    now_iso,
)
from mnemoscope.training import privacy
from mnemoscope.training.checkpoint import TrainState, load_state, save_state
from mnemoscope.training.config import TrainConfig, epoch_checkpoint, measurement_name
from mnemoscope.training.objectives import (
    CLASSIFICATION,
    WITH_TEACHER,
    Objective,
    TrainingModel,
    TrainingProgress,
    build_objective,
    default_augment,
)
from mnemoscope.training.probe import PROBE_TABLE, has_probe, probe_accuracy_table, write_probe
from mnemoscope.training.regularizer import regularized_loss
from mnemoscope.training.spec import Hook, HookContext, RunSpec, as_spec

# The spec a run was trained from, in its directory: what a worker or a later resume rebuilds.
SPEC_FILE = "spec.json"


# Default time between the resumable checkpoints: a killed run repeats at most about this much
# training, and runs of many short epochs (a few ms of training each on a CPU) do not spend a
# tenth of their time writing checkpoints.
CHECKPOINT_SECONDS = 30.0


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainResult:
    """A finished run: its directory and how to read what it produced."""

    run: RunDir
    config: TrainConfig

    def model(self, which: str = "final") -> models.Network:
        """The network saved as ``which`` ("final", "epoch-NNNN"), or "teacher": the EMA
        teacher at the end of a BYOL or DINO run (DINO evaluates its teacher)."""
        if which == "teacher":
            return load_teacher(self.run)
        return load_network(self.run.checkpoint_path(which))

    def measurements(self) -> dict[float, dict[str, np.ndarray]]:
        return read_measurements(self.run)

    def metrics(self) -> Any:
        return self.run.load_table("metrics")

    def probe(self) -> Any:
        """The probe table (tap, probe, k, accuracy, train_size, test_size), None if not run."""
        if not (self.run.path / "tables" / f"{PROBE_TABLE}.parquet").exists():
            return None
        return self.run.load_table(PROBE_TABLE)


def load_network(path: str | Path, device: str | torch.device = "cpu") -> models.Network:
    """Rebuild a network from a weights checkpoint written by ``train`` (safetensors only)."""
    import json

    from mnemoscope.errors import BadInput

    tensors, metadata = load_safetensors(path)
    if "network" not in metadata:
        raise BadInput(f"{path} has no 'network' metadata: not a mnemoscope weights checkpoint")
    try:
        config = json.loads(metadata["network"])
    except json.JSONDecodeError as error:
        raise BadInput(f"{path}: its 'network' metadata is not JSON ({error})") from None
    # Checked against the file's tensors before anything is allocated: metadata is user input.
    network = models.build_from_state(config, tensors, str(path))
    return network.to(device).eval()


def load_teacher(run: RunDir, device: str | torch.device = "cpu") -> models.Network:
    """The EMA teacher of a finished BYOL or DINO run, as a plain ``Network`` (its weights are
    the objective's state in the ``last`` checkpoint)."""
    tensors, _ = run.load_checkpoint("last")
    prefix = "objective/teacher."
    weights = {
        key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)
    }
    if not weights:
        raise ValueError(
            f"run {run.path} has no EMA teacher: only {' and '.join(WITH_TEACHER)} runs keep one"
        )
    network = load_network(run.checkpoint_path("final"), device)
    network.load_state_dict(weights)
    return network


def read_measurements(run: RunDir) -> dict[float, dict[str, np.ndarray]]:
    """All stored measurements of a run: {epoch: {"hook/array": values}} (bfloat16 values come
    back as float32, exactly: numpy has no bfloat16)."""
    results: dict[float, dict[str, np.ndarray]] = {}
    for path in sorted((run.path / "measurements").glob("epoch-*.safetensors")):
        tensors, metadata = load_safetensors(path)
        results[float(metadata["epoch"])] = {
            key: (value.float() if value.dtype == torch.bfloat16 else value).numpy()
            for key, value in tensors.items()
        }
    return dict(sorted(results.items()))


@dataclass
class _Prepared:
    """What a run needs before its first step, derived from the config and the dataset."""

    images: torch.Tensor  # uint8 [N, C, H, W] on the device: the training subset
    objective: Objective
    network_config: dict[str, Any]
    device: torch.device
    bundle: data.DatasetBundle  # the training set (probes read its test split)
    source: data.DatasetBundle  # the dataset config.data names (bundle before the recipe)


def prepare(config: TrainConfig | RunSpec, bundle: data.DatasetBundle | None = None) -> _Prepared:
    """Check the config against its dataset and build the objective; refuse bad input early.

    ``bundle``: the dataset ``config.data`` names, if already loaded; a spec's data recipe
    builds the training set from it."""
    recipe = config.data if isinstance(config, RunSpec) else None
    if isinstance(config, RunSpec):
        config = config.config
    if bundle is None:
        bundle = data.load(config.data.name, **config.data.options)
    source = bundle
    if recipe is not None:
        bundle = recipe.build(source)
    train_set = bundle.train
    subset = training_subset(config, bundle)
    needs_classes = config.objective.name in CLASSIFICATION or config.probe is not None
    if bundle.num_classes < 2 and needs_classes:
        raise ValueError(f"dataset {config.data.name!r} has {bundle.num_classes} class; need >= 2")
    device = pick_device(config.device)
    images = train_set.images[subset]
    height = images.shape[-1]
    chosen = (
        config.augment.model_dump() if config.augment else default_augment(config.objective.name)
    )
    augmentation = augment.get(chosen["name"], size=height, **chosen["params"])
    objective = build_objective(
        config.objective,
        train_labels=train_set.labels,
        subset=subset,
        num_classes=bundle.num_classes,
        output_dim=config.model.output_dim,
        augmentation=augmentation,
        device=device,
    )
    # Normalization statistics of the whole training set: the same for every run on it.
    pixels = train_set.images.float().div(255).transpose(0, 1).flatten(1)
    network_config = dict(
        name=config.model.name,
        in_channels=images.shape[1],
        num_outputs=objective.num_outputs,
        projector_hidden=config.model.projector_hidden,
        projector_norm=config.model.projector_norm,
        image_size=height,
        mean=pixels.mean(dim=1).tolist(),
        std=pixels.std(dim=1).clamp_min(1e-3).tolist(),
        **config.model.options,
    )
    network_config.update(objective.network_options)  # e.g. DINO's head
    if config.privacy is not None:
        with torch.device("meta"):  # BatchNorm mixes a batch's examples: GroupNorm for DP-SGD
            if privacy.has_batch_norm(models.build(**network_config)):
                network_config["norm"] = "groupnorm"
    objective.alignment_tap = _check_network(config, network_config, images.shape)
    return _Prepared(images.to(device), objective, network_config, device, bundle, source)


def training_subset(config: TrainConfig, bundle: data.DatasetBundle | int) -> torch.Tensor:
    """The indices of ``bundle.train`` that ``config`` trains on, after checking that they
    exist and hold at least one batch (cheap: nothing is built or copied). ``bundle`` may be
    the size of that training split alone."""
    size = bundle if isinstance(bundle, int) else len(bundle.train)
    if config.data.subset is None:
        subset = torch.arange(size)
    else:
        subset = torch.tensor(config.data.subset, dtype=torch.long)
        if int(subset.max()) >= size:
            raise ValueError(
                f"data.subset index {int(subset.max())} is out of range: the training set of "
                f"{config.data.name!r} has {size} images (indices 0..{size - 1})"
            )
    if config.batch_size > len(subset):
        raise ValueError(
            f"batch_size {config.batch_size} is larger than the training subset "
            f"({len(subset)} images): use at most {len(subset)}"
        )
    return subset


def _check_network(
    config: TrainConfig, network_config: dict[str, Any], shape: Sequence[int]
) -> str | None:
    """Build the network's shapes only, so that bad options fail before any work (images of
    ``shape`` it cannot take among them); return the alignment regularizer's tap (None when it
    is off) after checking the taps asked for."""
    from mnemoscope.measure.alignment import resolve_tap

    with torch.device("meta"):  # no memory, no random draws
        network = models.build(**network_config)
    network.check_images(shape)
    tap = resolve_tap(network, config.alignment_tap)  # ValueError naming an unknown tap
    for probed in config.probe.taps if config.probe else []:
        if probed not in network.tap_names:
            raise ValueError(
                f"probe tap {probed!r} is not a tap of {config.model.name!r}: "
                f"{', '.join(network.tap_names)}"
            )
    return tap if config.alignment_lambda > 0 else None


def train(
    config: TrainConfig | RunSpec,
    root: str | Path,
    hooks: Mapping[str, Hook] | None = None,
    *,
    bundle: data.DatasetBundle | None = None,
    progress: Progress | None = None,
    quiet: bool = False,
) -> TrainResult:
    """Train (or finish, or just return) the run of ``config`` (a ``TrainConfig`` with its
    ``hooks``, or a ``RunSpec``) under ``root``.

    ``bundle`` may pass the already loaded dataset named by ``config.data`` (studies load it
    once for many runs); a spec's data recipe builds its training set from it. ``progress``
    adds this run as a task to a caller's rich progress display; without one, a progress bar
    of its own is shown unless ``quiet``.

    The run directory's lock is held throughout (``store.claim``): a second process training
    the same spec waits for the first (as long as it lives) and then finds the run complete.
    """
    spec = as_spec(config, hooks)
    with claim(Path(root) / spec.run_name, wait=None, kind="training"):
        return _train(spec, root, bundle=bundle, progress=progress, quiet=quiet)


def _train(
    spec: RunSpec,
    root: str | Path,
    *,
    bundle: data.DatasetBundle | None,
    progress: Progress | None,
    quiet: bool,
) -> TrainResult:
    config = spec.config
    run = RunDir(Path(root) / spec.run_name)
    result = TrainResult(run, config)
    if run.is_complete and missing_records(run, config):
        # Resuming from ``last`` rewrites the metrics from its history; measurements and
        # epoch checkpoints it cannot redo are refused below, naming them.
        run.unmark_complete()
    if run.is_complete:
        missing = _missing_checkpoints(run, config)
        if missing:  # e.g. epoch 0 from a version that did not keep the initialization
            raise RuntimeError(
                f"run {run.path} is complete but lacks the checkpoints of save_epochs {missing}; "
                "nothing was changed: delete that run directory to train it again"
            )
        if config.probe is not None and not has_probe(run, config.probe):
            prepared = prepare(spec, bundle)
            network = load_network(run.checkpoint_path("final"), prepared.device)
            _probe(config, prepared, run, network)
            run.mark_complete(prune=False)  # its manifest lists the probe table it now holds
        return result
    # A resumed run keeps the thread count it started with (``meta.json``'s ``threads``), so
    # that it ends with the bits of a run never stopped; a fresh one takes the cores free now.
    with run_threads(run.read_meta().get("threads")) as threads:
        prepared = prepare(spec, bundle)
        if config.privacy is not None:  # an unreachable epsilon is refused before the first write
            privacy.Accounting.calibrate(config.privacy, len(prepared.images), config.batch_size,
                                         config.epochs)  # fmt: skip
        context = HookContext(config, prepared.source, prepared.bundle, prepared.device)
        for hook in spec.hooks.values():
            hook.setup(context)
        run.write_config(config.model_dump(mode="json"))
        atomic_write_text(run.path / SPEC_FILE, spec.to_json())
        run.update_meta(
            config_key=spec.key(),
            seed=config.seed,
            environment=run_environment(prepared.device),
            started=run.read_meta().get("started", now_iso()),
            threads=threads,
            worker={"host": socket.gethostname(), "pid": os.getpid()},  # which process trains it
        )
        with progress_display(progress, quiet) as display:
            network = _train_loop(spec, prepared, run, display)
        if config.probe is not None:
            _probe(config, prepared, run, network)
    missing = missing_records(run, config)
    if missing:  # resuming cannot redo an earlier epoch's measurements: never mark it complete
        raise RuntimeError(
            f"run {run.path} lacks {'; '.join(missing)}, which resuming cannot write again; "
            "nothing was marked complete: delete that run directory to train it again"
        )
    run.update_meta(finished=now_iso())
    run.mark_complete(prune=False)  # a resumed run keeps what its earlier processes wrote
    return result


def is_trained(spec: RunSpec, root: str | Path) -> bool:
    """Whether ``train(spec, root)`` would return the run as it stands: complete, with its
    probe table if it asks for one. A complete run that lacks a checkpoint of ``save_epochs``
    is not: ``train`` refuses it, saying so."""
    run = RunDir(Path(root) / spec.run_name)
    if not run.is_complete or _missing_checkpoints(run, spec.config):
        return False
    if missing_records(run, spec.config):
        return False
    return spec.config.probe is None or has_probe(run, spec.config.probe)


def missing_records(run: RunDir, config: TrainConfig) -> list[str]:
    """What a finished run of ``config`` lacks of its records: the ``final`` and ``last``
    checkpoints, the metrics row of any epoch, the measurements of any ``measure_at`` point
    (each said in a few words; empty when it has them all)."""
    import pandas as pd

    missing = [f"checkpoints/{name}.safetensors" for name in ("final", "last")
               if not run.checkpoint_path(name).exists()]  # fmt: skip
    metrics = run.path / "tables" / "metrics.parquet"
    try:
        recorded = set(pd.read_parquet(metrics, columns=["epoch"])["epoch"].tolist())
    except (OSError, ValueError, KeyError):  # missing, unreadable, or without epochs
        recorded = set()
    lacking = [epoch for epoch in range(1, config.epochs + 1) if epoch not in recorded]
    if lacking:
        missing.append(f"the metrics of epoch(s) {lacking[:5]}"
                       + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""))  # fmt: skip
    unmeasured = [
        point for point in config.measure_at
        if not (run.path / "measurements" / f"epoch-{measurement_name(point)}.safetensors").exists()
    ]  # fmt: skip
    if unmeasured:
        missing.append(f"the measurements of epoch(s) {unmeasured[:5]}")
    return missing


def _missing_checkpoints(run: RunDir, config: TrainConfig) -> list[int]:
    return [e for e in config.save_epochs if not run.checkpoint_path(epoch_checkpoint(e)).exists()]


def _probe(config: TrainConfig, prepared: _Prepared, run: RunDir, network: nn.Module) -> None:
    with run.timed("probe"):  # the epochs' seconds hold training and hooks, not this
        table = probe_accuracy_table(network, prepared.bundle, config.probe,
                                     device=prepared.device)  # fmt: skip
    write_probe(run, table, config.probe)


@dataclass
class _State:
    """What a run carries from epoch to epoch: the network, the method's own modules, the
    optimizer, the schedule, the data generator and the metrics so far."""

    network: nn.Module
    owned: nn.Module | None
    optimizer: torch.optim.Optimizer
    scheduler: Any
    generator: torch.Generator
    epoch: int = 0  # the last finished epoch
    history: list[dict[str, Any]] = field(default_factory=list)
    private: privacy.PrivateStep | None = None  # DP-SGD around ``optimizer`` (config.privacy)


def _train_loop(
    spec: RunSpec, prepared: _Prepared, run: RunDir, display: Progress | None
) -> nn.Module:
    """Restore (or start) the run, then train, record and checkpoint epoch after epoch."""
    config = spec.config
    steps_per_epoch = math.ceil(len(prepared.images) / config.batch_size)
    state = _restore(config, prepared, run, spec.key(), steps_per_epoch)
    network = state.network
    step_fn = torch.compile(network) if config.compile else network
    # DP-SGD clips per-example gradients in fp32 (training.privacy): no autocast there.
    dp = config.privacy is not None
    amp_dtype = None if dp else autocast_dtype(prepared.device, config.precision)
    model = TrainingModel(network, prepared.device, amp_dtype, step_fn)
    measure_steps = _measure_steps(config.measure_at, steps_per_epoch)
    task = add_task(display, spec.run_name, total=config.epochs, completed=state.epoch)

    def measure(epochs: list[float]) -> float:
        started = time.perf_counter()
        _measure(network, spec.hooks, epochs, run)
        return time.perf_counter() - started

    # The initialization: measured, and kept as epoch-0000, before any step. Its measurement
    # time is carried into epoch 1's row of the metrics.
    carried_seconds = 0.0
    if state.epoch == 0:
        if 0 in measure_steps:
            carried_seconds = measure(measure_steps[0])
        if 0 in config.save_epochs:
            _save_weights(run, epoch_checkpoint(0), network, prepared.network_config)
    checkpointed = state.epoch  # the epoch the 'last' checkpoint on disk holds
    checkpointed_at = time.monotonic()
    for epoch in range(state.epoch + 1, config.epochs + 1):
        record = _run_epoch(config, prepared, model, state, epoch, steps_per_epoch,
                            measure_steps, measure, carried_seconds, run, checkpointed)  # fmt: skip
        carried_seconds = 0.0
        _record(state, record)
        if epoch in config.save_epochs:
            _save_weights(run, epoch_checkpoint(epoch), network, prepared.network_config)
        # The full state is large (optimizer moments, teachers): written every
        # checkpoint_every epochs, and always at the end (teachers are read from it).
        every = config.checkpoint_every
        due = (epoch % every == 0 if every is not None
               else time.monotonic() - checkpointed_at >= CHECKPOINT_SECONDS)  # fmt: skip
        if due or epoch == config.epochs:
            _checkpoint(run, state, spec.key())
            checkpointed, checkpointed_at = epoch, time.monotonic()
        _save_history(run, state.history)
        if display is not None:
            display.update(task, completed=epoch, loss=f"loss {record['loss']:.4f}",
                           speed=f"{record['images_per_s']:,.0f} img/s")  # fmt: skip
    # Again after the loop: a run killed between its final checkpoint and that epoch's
    # metrics resumes with no epoch left to train, and its history (in ``last``) is written here.
    _save_history(run, state.history)
    _save_weights(run, "final", network, prepared.network_config)
    if dp:
        run.update_meta(privacy=_privacy_record(prepared, state, steps_per_epoch))
    return network


def _privacy_record(prepared: _Prepared, state: _State, steps_per_epoch: int) -> dict[str, Any]:
    """What DP-SGD spent and changed (``training.privacy``), for the run's meta.json."""
    batch_norm = prepared.network_config.get("norm") == "groupnorm"
    applied = state.private.optimizer.noise_multiplier
    # only a test's switch (privacy.applied_noise_multiplier) makes the two differ
    changed = {} if applied == state.private.accounting.noise_multiplier else {
        "noise_multiplier_applied": applied}  # fmt: skip
    return {**state.private.accounting.record(state.epoch * steps_per_epoch), **changed,
            "frozen": state.private.frozen, "precision": "fp32", "channels_last": False,
            "normalization": "BatchNorm replaced by GroupNorm (opacus ModuleValidator.fix)"
            if batch_norm else "unchanged (no BatchNorm)",
            "sampling": "poisson"}  # fmt: skip


def _restore(
    config: TrainConfig, prepared: _Prepared, run: RunDir, state_key: str, steps_per_epoch: int
) -> _State:
    """A fresh start (``_fresh_state``), then the ``last`` checkpoint loaded over it when the
    run was interrupted."""
    state = _fresh_state(config, prepared, steps_per_epoch)
    if run.checkpoint_path("last").exists():
        saved = load_state(run, "last", state_key)
        state.network.load_state_dict(saved.model)
        if state.owned is not None:
            state.owned.load_state_dict(saved.objective)
        state.optimizer.load_state_dict(saved.optimizer)
        if state.scheduler is not None:
            state.scheduler.load_state_dict(saved.scheduler)
        state.generator.set_state(saved.generator)
        state.epoch, state.history = saved.epoch, saved.history
    return state


def _fresh_state(config: TrainConfig, prepared: _Prepared, steps_per_epoch: int) -> _State:
    """The state before the first step: initial weights from the seed's first stream, the
    generator from its second, the optimizer and schedule (and DP-SGD's step around them)."""
    device, objective = prepared.device, prepared.objective
    init_seed, data_seed = np.random.SeedSequence(config.seed).generate_state(2, dtype=np.uint64)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(init_seed))
        network = models.build(**prepared.network_config)
        owned = objective.attach(network)  # the method's own modules, seeded like the network
    network.to(device)
    dp = config.privacy is not None
    if config.channels_last and not dp:  # Opacus' conv rule wants contiguous activations
        network.to(memory_format=torch.channels_last)
    if owned is not None:
        owned.to(device)
    generator = torch.Generator().manual_seed(int(data_seed))
    optimizer = _optimizer(config, network, owned)
    state = _State(network, owned, optimizer, _scheduler(config, optimizer, steps_per_epoch),
                   generator)  # fmt: skip
    if dp:  # the hooks, clipping and noise around the optimizer, which keeps its own state
        # sigma for the target (epsilon, delta) over the whole run (seconds: only when training)
        accounting = privacy.Accounting.calibrate(config.privacy, len(prepared.images),
                                                  config.batch_size, config.epochs)  # fmt: skip
        state.private = privacy.PrivateStep.attach(accounting, network, owned, optimizer)
    return state


def time_steps(
    spec: RunSpec, bundle: data.DatasetBundle | None = None, *, steps: int = 3
) -> tuple[float, int]:
    """Mean seconds of one optimizer step of ``spec``'s run on random images of its training
    set's shape, timed over ``steps`` steps after one warm-up step (which pays for allocation
    and kernel selection), and the batch size of those steps. Nothing is written: a cost
    estimate (``execution.plan``), not a run."""
    prepared = prepare(spec, bundle)
    config = spec.config
    count = len(prepared.images)
    prepared.images = torch.randint(0, 256, prepared.images.shape, dtype=torch.uint8,
                                    device=prepared.device)  # fmt: skip
    state = _fresh_state(config, prepared, max(1, count))
    amp_dtype = autocast_dtype(prepared.device, config.precision)
    model = TrainingModel(state.network, prepared.device, amp_dtype, state.network)
    state.network.train()
    batch = min(config.batch_size, count)
    timings = []
    for step in range(steps + 1):
        positions = torch.randperm(count, generator=state.generator)[:batch]
        started = time.perf_counter()
        output = _train_step(config, prepared.objective, model, prepared.images, positions,
                             state.generator)  # fmt: skip
        state.optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        state.optimizer.step()
        if prepared.device.type == "cuda":
            torch.cuda.synchronize()
        if step:  # the first step pays for allocation and kernel selection
            timings.append(time.perf_counter() - started)
    return sum(timings) / len(timings), batch


def _run_epoch(
    config: TrainConfig,
    prepared: _Prepared,
    model: TrainingModel,
    state: _State,
    epoch: int,
    steps_per_epoch: int,
    measure_steps: dict[float, list[float]],
    measure: Callable[[list[float]], float],
    carried_seconds: float,
    run: RunDir,
    checkpointed: int,
) -> dict[str, Any]:
    """One epoch of optimizer steps (with the measurements that fall in it); its metrics row."""
    device, images, objective = prepared.device, prepared.images, prepared.objective
    network, owned, optimizer, scheduler = (state.network, state.owned, state.optimizer,
                                            state.scheduler)  # fmt: skip
    count = len(images)
    total_steps = config.epochs * steps_per_epoch
    regularized = config.alignment_lambda > 0
    network.train()
    if owned is not None:
        owned.train()  # EMA teachers run in training mode, as in BYOL and DINO
    started = time.perf_counter() - carried_seconds
    measure_seconds = carried_seconds
    loss_sum = torch.zeros((), device=device)
    ssl_sum, distance_sum = torch.zeros((), device=device), torch.zeros((), device=device)
    correct, seen = 0, 0
    private = state.private
    if private is None:
        order = torch.randperm(count, generator=state.generator)
    for step in range(steps_per_epoch):
        if private is None:
            positions = order[step * config.batch_size : (step + 1) * config.batch_size]
        else:  # DP-SGD's Poisson sampling: each image with probability batch_size / n
            positions = privacy.poisson_batch(count, private.accounting.sample_rate,
                                              state.generator)  # fmt: skip
        # A lone image cannot form a batch (BatchNorm, SimCLR's negatives): skip it. DP-SGD
        # trains on any non-empty draw (the accountant counts every step, empty ones too).
        if len(positions) >= (2 if private is None else 1):
            done = (epoch - 1) * steps_per_epoch + step
            objective.begin_step(TrainingProgress(done, total_steps, steps_per_epoch))
            output = _train_step(config, objective, model, images, positions, state.generator)
            loss = output.loss
            if regularized:
                ssl_sum += output.loss.detach() * len(positions)
                loss, distance = regularized_loss(
                    output.loss, *output.representations, config.alignment_lambda,
                    config.alignment_normalize,
                )  # fmt: skip
                distance_sum += distance.detach() * len(positions)
            if not torch.isfinite(loss):
                kept = (
                    f"the last good checkpoint (epoch {checkpointed}) is kept in "
                    f"{run.checkpoint_path('last')}"
                    if checkpointed
                    else "no checkpoint had been written yet"
                )
                raise NonFiniteLossError(
                    f"non-finite loss {loss.item()} at epoch {epoch}, step {step + 1} "
                    f"of {steps_per_epoch}; {kept}"
                )
            optimizer.zero_grad(set_to_none=True)
            if private is None:
                loss.backward()
                optimizer.step()
            else:  # per-example gradients, clipped, noised, then the optimizer's step
                private.step(loss, state.generator, device)
            if scheduler is not None:
                scheduler.step()
            objective.end_step()
            loss_sum += loss.detach() * len(positions)
            seen += len(positions)
            correct += output.correct or 0
        points = measure_steps.get(_grid_key(epoch - 1 + (step + 1) / steps_per_epoch))
        if points is not None:
            measure_seconds += measure(points)
    seconds = time.perf_counter() - started
    record = {
        "epoch": epoch,
        "loss": float(loss_sum) / max(seen, 1),
        "train_accuracy": correct / seen if objective_counts_correct(config) else None,
        "lr": optimizer.param_groups[0]["lr"],
        "seconds": seconds,
        "measure_seconds": measure_seconds,
        "images_per_s": seen / max(seconds - measure_seconds, 1e-9),
    }
    if private is not None:  # the budget spent so far
        record["epsilon"] = private.accounting.epsilon(epoch * steps_per_epoch)
    if regularized:  # the loss above is eq. 3's total; these are its two terms
        record["ssl_loss"] = float(ssl_sum) / max(seen, 1)
        record["view_distance"] = float(distance_sum) / max(seen, 1)
    return record


def _record(state: _State, record: dict[str, Any]) -> None:
    """The epoch is done: it joins the history (saved with the next checkpoint and table)."""
    state.history.append(record)
    state.epoch = record["epoch"]


def _checkpoint(run: RunDir, state: _State, state_key: str) -> None:
    """The resumable ``last`` checkpoint: everything a killed run needs to go on bit for bit."""
    owned, scheduler = state.owned, state.scheduler
    save_state(run, "last", TrainState(state.epoch, state.network.state_dict(),
               state.optimizer.state_dict(), scheduler.state_dict() if scheduler else None,
               state.generator.get_state(), state.history,
               owned.state_dict() if owned is not None else None), state_key)  # fmt: skip


def _train_step(config, objective, model, images, positions, generator):
    batch = images[positions.to(model.device)]
    if config.channels_last and config.privacy is None:
        batch = batch.contiguous(memory_format=torch.channels_last)
    return objective.step(model, batch, positions, generator)


def objective_counts_correct(config: TrainConfig) -> bool:
    objective = config.objective
    return objective.name in CLASSIFICATION and getattr(objective, "mixup_alpha", None) is None


def _optimizer(
    config: TrainConfig, network: nn.Module, owned: nn.Module | None
) -> torch.optim.Optimizer:
    optim = config.optim
    params = list(network.parameters())
    if owned is not None:  # prediction heads and decoders learn; EMA teachers do not
        params += [param for param in owned.parameters() if param.requires_grad]
    if optim.name == "lars":
        from lightly.utils.lars import LARS

        return LARS(params, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay)
    if optim.name == "sgd":
        return torch.optim.SGD(
            params, lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay
        )
    if optim.name == "adamw":
        return torch.optim.AdamW(
            params, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay
        )
    return torch.optim.Adam(params, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)


def _scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """Per-step learning rate: linear warm-up over ``warmup_epochs`` (lr/W, 2 lr/W, ..., lr),
    then cosine annealing to 0 over the remaining steps, or constant."""
    total = config.epochs * steps_per_epoch
    warmup = round(config.optim.warmup_epochs * steps_per_epoch)
    lr_scheduler = torch.optim.lr_scheduler
    cosine = config.optim.schedule == "cosine"
    if warmup <= 1:  # a one-step warm-up starts at lr: no warm-up
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total) if cosine else None
    # Factors 1/W, 2/W, ..., W/W over the W warm-up steps.
    ramp = lr_scheduler.LinearLR(optimizer, start_factor=1 / warmup, total_iters=warmup - 1)
    if not cosine:
        return ramp
    anneal = lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total - warmup, 1))
    return lr_scheduler.SequentialLR(optimizer, [ramp, anneal], milestones=[warmup])


def _measure_steps(points: list[float], steps_per_epoch: int) -> dict[float, list[float]]:
    """Map the training progress (in epochs, on the step grid) at which measurements are taken
    to the requested epochs measured there: {grid point: [requested epochs]}, sorted.

    Each point goes to its nearest optimizer step, round(point * steps_per_epoch); 0 means
    before the first step, and a positive point is never moved there (it would be a second
    name for the initialization): it is measured after step 1 at the earliest."""
    grid: dict[float, list[float]] = {}
    for point in sorted(points):
        step = round(point * steps_per_epoch)
        if point > 0:
            step = max(step, 1)
        grid.setdefault(_grid_key(step / steps_per_epoch), []).append(point)
    return grid


def _grid_key(epoch: float) -> float:
    # Float epochs from two computations must meet in one dict: round away the noise.
    return round(epoch, 9)


def _measure(
    network: nn.Module, hooks: Mapping[str, Hook], epochs: list[float], run: RunDir
) -> None:
    """Call every hook once (with the first of ``epochs``) and store what they return under
    each of ``epochs``: the points that fall on this step."""
    from safetensors.torch import save

    was_training = network.training
    network.eval()
    tensors: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for name, hook in hooks.items():
            for key, value in (hook(network, epochs[0]) or {}).items():
                tensors[f"{name}/{key}"] = _owned_tensor(value)
    network.train(was_training)
    for epoch in epochs:
        payload = save(tensors, metadata={"epoch": repr(float(epoch))})
        path = run.path / "measurements" / f"epoch-{measurement_name(epoch)}.safetensors"
        atomic_write(path, lambda file, payload=payload: file.write(payload))


def _owned_tensor(value: Any) -> torch.Tensor:
    """A hook's output as a contiguous CPU tensor that owns its memory: safetensors refuses
    tensors that share storage, such as two views of one tensor, or a slice of it."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()  # tensors on an accelerator or in bf16 included
    else:
        tensor = torch.as_tensor(np.asarray(value))
    return tensor.clone(memory_format=torch.contiguous_format)


def _save_weights(
    run: RunDir, name: str, network: nn.Module, network_config: dict[str, Any]
) -> None:
    import json

    run.save_checkpoint(name, network.state_dict(), {"network": json.dumps(network_config)})


def _save_history(run: RunDir, history: list[dict[str, Any]]) -> None:
    import pandas as pd

    run.save_table("metrics", pd.DataFrame(history))
