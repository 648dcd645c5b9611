"""``run``: the memorization-profiles study of paper 001, from training to figures.

1. Pick the training images (``data.train_size``, class-stratified) and X among them.
2. For each paradigm, draw the augmentation bank of X once, then train N seeds through the
   engine with a ``RecognitionHook`` at every measurement epoch (finished runs under
   ``out/runs/`` are reused, so a second ``run`` only re-analyses).
3. Stack the hooks' outputs into arrays [seed, epoch, augmentation, example]; embed training
   images with t-SNE (fig. 6) and maximize activations (fig. 7) on each paradigm's first seed.
4. Tables, ``summary.json`` and every figure (``draw_figures`` reads only what was stored).

Output layout of ``out``:

    config.yaml, meta.json, summary.json, COMPLETE
    runs/<objective>-s<seed>-<hash>/       engine runs (weights, metrics, measurements)
    arrays/tracked-ids, tracked-labels     int64 [X]
    arrays/<paradigm>-indicators           uint8 [N, E, M', X]: I_theta; M' = M, 1 if degenerate
    arrays/<paradigm>-probabilities        float16 [N, E, M', X]: probability of the answer
    arrays/<paradigm>-fixed                uint8 [N, E, X]: I_theta of the fixed augmentation
    arrays/<paradigm>-fixed_probabilities  float16 [N, E, X]
    arrays/<paradigm>-anchor_indicators    uint8 [N, E, M', X]: SimCLR only, the paper authors'
                                           indicator (one direction, ties as hits)
    arrays/<paradigm>-anchor_fixed         uint8 [N, E, X]: SimCLR only, the same on the fixed pair
    arrays/<paradigm>-epochs               float64 [E]: measurement epochs (0 = initialization)
    arrays/<paradigm>-targets              int64 [X]: training labels of X (-1 for SimCLR)
    arrays/<paradigm>-tsne                 float32 [n, 2]: fig. 6, first seed, final weights
    arrays/tsne-labels, tsne-ids           int64 [n]
    arrays/<paradigm>-activation_max       float16 [stages, K, C, H, W]: fig. 7
    arrays/<paradigm>-activation_channels  int64 [stages, K]
    tables/profile_alignment               aligned epochs, MAE, chi-square against each null
    tables/profile_distance                the same statistics at every measured epoch
    tables/dynamics                        forgetting events and cartography per image
    tables/dynamics_correlation            their rank correlation with the profile
    tables/recognition                     p_t and p~_t per paradigm, epoch and example
    tables/training                        per run: seconds spent training and tracking
    figures/fig1_profiles.png ... fig7_activation_max.png
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from mnemoscope import data
from mnemoscope.environment import pick_device
from mnemoscope.measure.features import extract_features
from mnemoscope.store import RunDir
from mnemoscope.studies.frame import Frame
from mnemoscope.studies.profiles.activation_max import maximize_activations
from mnemoscope.studies.profiles.config import Config, ParadigmSpec, measurement_epochs
from mnemoscope.studies.profiles.figures import draw_figures
from mnemoscope.studies.profiles.summary import ProfilesSummary
from mnemoscope.studies.profiles.tables import write_tables
from mnemoscope.studies.profiles.tracking import RecognitionHook, select_images
from mnemoscope.training import RunSpec, TrainResult, load_network

HOOK = "recognition"
ANCHOR_KEYS = ("anchor_indicators", "anchor_fixed")  # the paper authors' SimCLR indicator


def run(config: Config, frame: Frame) -> ProfilesSummary:
    """Run the study of ``config`` in ``frame`` (see the module docstring for the layout)."""
    # Everything that can refuse the input comes before the first write (frame.start): a bad
    # rerun leaves a finished study directory as it was (config.yaml and COMPLETE included).
    device = config.train_config(config.paradigms[0], 0).device
    bundle = data.load(config.data.name, **config.data.options)
    train_index, tracked = select_images(config.data, config.tracking, bundle)
    subset = None if config.data.train_size is None else train_index.tolist()
    paradigms = config.paradigms
    specs = {paradigm.name: paradigm_specs(config, paradigm, bundle, train_index, subset)
             for paradigm in paradigms}  # fmt: skip

    study = frame.start(device, classes=list(bundle.classes))
    study.save_array("tracked-ids", tracked.ids)
    study.save_array("tracked-labels", tracked.labels)
    for name, group in specs.items():
        save_targets(study, name, group[0], bundle)
    count = len(config.seeds)
    frame.steps(len(paradigms) * (count + 1) + 1)
    trained = frame.train([spec for group in specs.values() for spec in group], bundle=bundle)
    training_rows = []
    for paradigm in paradigms:
        results, trained = trained[:count], trained[count:]
        training_rows += save_paradigm_arrays(study, paradigm.name, results)
        with study.timed("t-SNE and activation maximization"):
            save_representations(config, study, paradigm.name, results[0], bundle, train_index)
        frame.advance()
    study.save_table("training", pd.DataFrame(training_rows))
    summary = write_tables(config, study)
    with study.timed("figures"):
        draw_figures(study.path)
    frame.advance()
    return summary


def paradigm_specs(
    config: Config,
    paradigm: ParadigmSpec,
    bundle: data.DatasetBundle,
    train_index: torch.Tensor,
    subset: list[int] | None,
) -> list[RunSpec]:
    """The N seeds of one paradigm, each with its recognition-tracking hook."""
    base = config.train_config(paradigm, 0, subset=subset)
    steps_per_epoch = math.ceil(len(train_index) / base.batch_size)
    measure_at = measurement_epochs(paradigm, base.epochs, steps_per_epoch)
    hook = RecognitionHook(data=config.data, tracking=config.tracking,
                           eval_batch_size=config.eval_batch_size(base))  # fmt: skip
    return [
        RunSpec(config.train_config(paradigm, seed, subset=subset, measure_at=measure_at),
                hooks={HOOK: hook})
        for seed in config.seeds
    ]  # fmt: skip


def study_specs(config: Config, bundle: data.DatasetBundle) -> list[RunSpec]:
    """Every run the study trains, on ``bundle`` (the dataset ``config.data`` names)."""
    train_index, _ = select_images(config.data, config.tracking, bundle)
    subset = None if config.data.train_size is None else train_index.tolist()
    return [spec for paradigm in config.paradigms
            for spec in paradigm_specs(config, paradigm, bundle, train_index, subset)]  # fmt: skip


def save_targets(study: RunDir, name: str, spec: RunSpec, bundle: data.DatasetBundle) -> None:
    """The training labels of X that a paradigm trains on (-1 for SimCLR)."""
    targets = spec.hooks[HOOK].targets(spec.config, bundle)
    if targets is None:
        targets = torch.full((spec.hooks[HOOK].tracking.size,), -1)
    study.save_array(f"{name}-targets", targets)


def stack_measurements(results: list[TrainResult]) -> dict[str, np.ndarray]:
    """The hook's outputs of every seed and epoch, stacked: [seed, epoch, ...] per key, plus
    ``epochs`` [E] and ``seconds`` [seed, epoch]."""
    per_seed = [result.measurements() for result in results]
    epochs = list(per_seed[0])
    for result, measured in zip(results, per_seed, strict=True):
        if list(measured) != epochs or list(measured) != result.config.measure_at:
            raise RuntimeError(
                f"run {result.run.path} holds measurements at epochs {list(measured)}, expected "
                f"{result.config.measure_at}: delete the run directory to measure it again"
            )
    keys = ["indicators", "probabilities", "fixed", "fixed_probabilities", "seconds"]
    keys += [key for key in ANCHOR_KEYS if f"{HOOK}/{key}" in per_seed[0][epochs[0]]]
    stacked = {
        key: np.stack([np.stack([m[epoch][f"{HOOK}/{key}"] for epoch in epochs]) for m in per_seed])
        for key in keys
    }
    stacked["epochs"] = np.asarray(epochs, dtype=np.float64)
    return stacked


def save_paradigm_arrays(
    study: RunDir, name: str, results: list[TrainResult]
) -> list[dict[str, Any]]:
    """Save one paradigm's arrays; return its rows of the training table (seconds spent
    training and tracking per run: the cost of tracking, see bench/bench_profiles.py)."""
    stacked = stack_measurements(results)
    study.save_array(f"{name}-indicators", stacked["indicators"].astype(np.uint8))
    study.save_array(f"{name}-probabilities", stacked["probabilities"].astype(np.float16))
    study.save_array(f"{name}-fixed", stacked["fixed"].astype(np.uint8))
    study.save_array(f"{name}-fixed_probabilities",
                     stacked["fixed_probabilities"].astype(np.float16))  # fmt: skip
    study.save_array(f"{name}-epochs", stacked["epochs"])
    for key in ANCHOR_KEYS:  # SimCLR only
        if key in stacked:
            study.save_array(f"{name}-{key}", stacked[key].astype(np.uint8))
    rows = []
    for seed, result in enumerate(results):
        metrics = result.metrics()
        tracking = float(stacked["seconds"][seed].sum())
        epoch_seconds = float(metrics["seconds"].sum())
        in_epochs = float(metrics["measure_seconds"].sum())
        rows.append({
            "paradigm": name, "seed": seed, "run": result.run.path.name,
            "training_seconds": epoch_seconds - in_epochs, "tracking_seconds": tracking,
            "final_loss": float(metrics["loss"].iloc[-1]),
        })  # fmt: skip
    return rows


def save_representations(
    config: Config,
    study: RunDir,
    name: str,
    result: TrainResult,
    bundle: data.DatasetBundle,
    train_index: torch.Tensor,
) -> None:
    """Fig. 6's t-SNE of embedding-layer features and fig. 7's activation maximization, both on
    the paradigm's first seed at its final weights."""
    from sklearn.manifold import TSNE

    figures = config.figures
    device = pick_device(result.config.device)
    network = load_network(result.run.checkpoint_path("final"), device)
    count = min(figures.tsne_images, len(train_index))
    generator = torch.Generator().manual_seed(figures.seed)
    sample = train_index[torch.randperm(len(train_index), generator=generator)[:count]].sort()[0]
    features = extract_features(network, bundle.train.images[sample], ["embedding"])["embedding"]
    perplexity = min(figures.tsne_perplexity, (count - 1) / 3)
    coordinates = TSNE(
        2,
        perplexity=perplexity,
        max_iter=figures.tsne_iterations,
        init="pca",
        random_state=figures.seed,
    )
    study.save_array(f"{name}-tsne", coordinates.fit_transform(features.numpy()).astype(np.float32))
    study.save_array("tsne-labels", bundle.train.labels[sample])
    study.save_array("tsne-ids", bundle.train.ids[sample])
    images, channels = maximize_activations(
        network, tuple(bundle.train.images.shape[1:]), figures.activation_channels,
        figures.activation_steps, figures.activation_step_size, figures.seed,
    )  # fmt: skip
    study.save_array(f"{name}-activation_max", images)
    study.save_array(f"{name}-activation_channels", channels)
