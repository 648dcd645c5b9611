"""``run``: the memorization atlas, from the model pool to every per-image score.

1. Lay out the pool (``pool.make_layout``: shared images, ordinary candidates, planted kinds)
   and draw each method's membership (``pool.membership``: complementary halves per pair of
   models, a draw of its own per method).
2. Train K models per method (``methods``), model k on the shared images and its IN
   candidates with seed ``train.seed + k``; with ``dynamics`` on, every model's recognition of
   every candidate is recorded at the measured epochs (``pool.TrackingHook``).
3. Measure each trained model on every candidate, the per-model values every score reads, into
   ``arrays/`` (K first): SSL methods the alignment loss per view pair at the headline tap and
   every extra tap (``alignment_losses_by_tap``, common random views; the sslmem study's
   options) and Déjà Vu's label guesses; supervised methods p(y | x) on the clean image.
4. Score, from the arrays alone (``scores.score_atlas``; ``mnemoscope rescore`` reruns
   it): per-image scores with intervals, reliability over models and views, reliability
   curves, agreement, planted-kind detection, LiRA.
5. Tables, figures and ``summary.json``.

Output layout of ``out`` (besides config.yaml, meta.json, summary.json, COMPLETE, runs/):

    arrays/<m>-inside                   bool [K, N]: method m's model k trained on candidate n
    arrays/candidate_images             uint8 [N, C, H, W]
    arrays/<m>-align-<tap>              float32 [K, N, A]: L_align per view pair (SSL)
    arrays/<m>-align_shared-<tap>       float32 [K, S, A]: the same on S shared images
                                        (measure.center: [shared])
    arrays/<m>-dejavu                   uint8 [K, N]: model k's kNN guessed n's label (SSL)
    arrays/<m>-probability              float64 [K, N]: p_k(y | x_n) (supervised)
    arrays/<m>-correct, <m>-confidence  uint8 / float16 [K, E, V, N]: recognition and the
                                        probability of the right answer at each epoch
    arrays/<m>-epochs                   float64 [E]: the measured epochs
    tables/atlas_images                 per candidate: id, kind, group, source, labels
    tables/atlas_scores                 image x score, with intervals (per image)
    tables/atlas_reliability, atlas_reliability_curve, atlas_agreement, atlas_detection,
    atlas_membership, atlas_roc, atlas_layermem
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import torch

from mnemoscope import data
from mnemoscope.measure.alignment import alignment_losses_by_tap, resolve_tap
from mnemoscope.measure.dejavu import infer_labels, periphery_crop
from mnemoscope.store import RunDir, claim, now_iso
from mnemoscope.studies.atlas import summary as summary_module
from mnemoscope.studies.atlas.config import Config
from mnemoscope.studies.atlas.figures import draw_figures
from mnemoscope.studies.atlas.pool import (
    AtlasRecipe,
    Layout,
    TrackingHook,
    make_layout,
    membership,
    model_subset,
)
from mnemoscope.studies.atlas.scores import score_atlas
from mnemoscope.studies.atlas.summary import AtlasSummary
from mnemoscope.studies.frame import Frame
from mnemoscope.studies.sslmem import feldman
from mnemoscope.studies.sslmem import study as sslmem
from mnemoscope.studies.sslmem.planted import Planted
from mnemoscope.training import RunSpec, TrainResult
from mnemoscope.training.objectives import RECOGNIZABLE

HOOK = "atlas"


def run(config: Config, frame: Frame) -> AtlasSummary:
    """Run the atlas in ``frame`` (module docstring); trainings live in ``OUT/runs/``."""
    # Everything that can refuse the input comes before the first write (frame.start).
    bundle = data.load(config.data.name, **config.data.options)
    layout = make_layout(bundle, config.pool, config.planted)
    insides = memberships(config, layout)
    specs = method_specs(config, bundle, layout, insides)
    public = public_set(config, bundle, layout)
    shared_points = shared_sample(config, layout)
    taps = check_before_training(config, layout, specs)
    store = frame.start(config.train.device)
    device = frame.device
    frame.steps(sum(len(group) for group in specs.values()) + len(specs) + 1)
    store.update_meta(atlas_taps={name: list(found) for name, found in taps.items()},
                      atlas_layers=taps)  # fmt: skip
    for name, inside in insides.items():
        store.save_array(f"{name}-inside", inside)
    store.save_array("candidate_images", layout.images)
    images = images_table(layout)
    store.save_table("atlas_images", images)
    trained = frame.train([spec for group in specs.values() for spec in group], bundle=bundle)
    for name, group in specs.items():
        runs, trained = trained[: len(group)], trained[len(group) :]
        with store.timed(f"measuring {name}"):
            measure_method(config, name, runs, layout, public, shared_points, list(taps.get(
                name, {})), store, device)  # fmt: skip
        frame.advance()
    with store.timed("scoring"):
        atlas = score_atlas(store, config, images)
        save_tables(store, atlas)
    draw_figures(store.path)
    frame.advance()
    return summary_module.study_summary(config, atlas, images, list(bundle.classes))


def memberships(config: Config, layout: Layout) -> dict[str, np.ndarray]:
    """Each method's ``inside`` [K, N] (``pool.membership``)."""
    return {m.name: membership(layout.kind, config.pool.models, config.pool.seed, m.name)
            for m in config.methods}  # fmt: skip


def method_specs(config: Config, bundle: data.DatasetBundle, layout: Layout,
                 insides: dict[str, np.ndarray]) -> dict[str, list[RunSpec]]:  # fmt: skip
    """The K runs of every method, in model order."""
    recipe = AtlasRecipe(pool=config.pool, planted=config.planted)
    specs = {}
    for name, train in config.method_trains().items():
        hooks, points = {}, []
        if config.dynamics.enabled and train.objective.name in RECOGNIZABLE:
            points = config.measured_epochs(train.epochs)
            hooks = {HOOK: TrackingHook.of(config, train.batch_size)}
        inside = insides[name]
        specs[name] = [RunSpec(train.run_config(config.data, model_subset(layout, inside, k),
                                                seed=train.seed + k, measure_at=points),
                               recipe, hooks)
                       for k in range(config.pool.models)]  # fmt: skip
    return specs


def study_specs(config: Config, bundle: data.DatasetBundle) -> list[RunSpec]:
    """Every run the atlas trains: K per method, on ``bundle`` (the dataset ``data`` names)."""
    layout = make_layout(bundle, config.pool, config.planted)
    return [spec for group in method_specs(config, bundle, layout,
                                           memberships(config, layout)).values()
            for spec in group]  # fmt: skip


def public_set(config: Config, bundle: data.DatasetBundle, layout: Layout) -> torch.Tensor | None:
    """Déjà Vu's labelled public images: test positions, class-stratified, without the held-out
    class (disjoint from every training set by construction). None when no SSL method or
    Déjà Vu is off."""
    if not config.dejavu.enabled or not any(config.is_ssl(m.name) for m in config.methods):
        return None
    labels = bundle.test.labels
    usable = torch.arange(len(labels))
    if layout.held_out_class is not None:
        usable = usable[labels != layout.held_out_class]
    if config.dejavu.public > len(usable):
        raise ValueError(f"dejavu.public = {config.dejavu.public} but the test split has "
                         f"{len(usable)} usable images: lower it")  # fmt: skip
    return data.split(usable, {"public": config.dejavu.public}, seed=config.pool.seed,
                      stratify_labels=labels[usable])["public"]  # fmt: skip


def shared_sample(config: Config, layout: Layout) -> torch.Tensor | None:
    """The shared images each SSL model's alignment is centered on (``center: [shared]``)."""
    if config.measure.center[0] != "shared":
        return None
    shared = layout.shared
    if len(shared) == 0:
        raise ValueError("measure.center = [shared] needs shared images: pool.shared is 0")
    count = min(config.measure.shared_points, len(shared))
    return data.split(shared, {"sample": count}, seed=config.pool.seed + 1,
                      stratify_labels=layout.bundle.train.labels[shared])["sample"]  # fmt: skip


def measure_view(config: Config, train: Any) -> SimpleNamespace:
    """What the sslmem study's ``measure_options`` reads: the measurement and the training."""
    return SimpleNamespace(measure=config.measure, train=train)


def check_before_training(
    config: Config, layout: Layout, specs: dict[str, list[RunSpec]]
) -> dict[str, dict[str, list]]:
    """Refuse, before any training, a measurement that cannot work (identical views, a tap the
    architecture lacks, Déjà Vu's tap); return per SSL method the taps scored -> [layer,
    depth], the headline tap first."""
    found = {}
    images = layout.images[:16]
    for name, train in config.method_trains().items():
        if not config.is_ssl(name):
            continue
        options = sslmem.measure_options(measure_view(config, train))
        try:
            planted = Planted(layout.bundle)
            first = specs[name][0].config
            layer_of = sslmem.check_before_training(first, planted, images, options,
                                                    config.measure.extra_taps)  # fmt: skip
            depth = sslmem.tap_depths(first, planted, layer_of)
            if config.dejavu.enabled:
                resolve_tap(sslmem.meta_network(first, planted), config.dejavu.tap)
        except ValueError as error:
            raise ValueError(f"method {name!r}: {error}") from None
        found[name] = {tap: [layer, depth[tap]] for tap, layer in layer_of.items()}
    return found


def images_table(layout: Layout) -> pd.DataFrame:
    """One row per candidate: position (in the arrays), id, kind, copy group, source (dataset
    position of the original; -1: none), label (trained on) and true label."""
    train = layout.bundle.train
    return pd.DataFrame({"position": np.arange(len(layout.candidates)),
                         "id": train.ids[layout.candidates].numpy(), "kind": layout.kind,
                         "group": layout.group, "source": layout.source,
                         "label": layout.labels.numpy(),
                         "true_label": layout.true_label})  # fmt: skip


# --- measurements ------------------------------------------------------------------------------


def measure_method(
    config: Config,
    name: str,
    runs: list[TrainResult],
    layout: Layout,
    public: torch.Tensor | None,
    shared_points: torch.Tensor | None,
    taps: list[str],
    store: RunDir,
    device: torch.device,
) -> None:
    """Store the per-model values of ``name``'s K models (module docstring)."""
    train = config.method_trains()[name]
    networks = sslmem.load_networks(runs, "final", device)
    images = layout.images
    if config.is_ssl(name):
        options = sslmem.measure_options(measure_view(config, train))
        rest = {key: value for key, value in options.items() if key != "tap"}
        shown = images if shared_points is None else torch.cat(
            [images, layout.bundle.train.images[shared_points]])  # fmt: skip
        by_tap = alignment_losses_by_tap(networks, shown, taps, device=device, per_pair=True,
                                         **rest)  # fmt: skip
        for tap, losses in by_tap.items():
            losses = losses.numpy().astype(np.float32)
            store.save_array(f"{name}-align-{tap}", losses[:, : len(images)])
            if shared_points is not None:
                store.save_array(f"{name}-align_shared-{tap}", losses[:, len(images) :])
        if public is not None:
            store.save_array(f"{name}-dejavu", dejavu_guesses(config, networks, layout, public,
                                                              device))  # fmt: skip
    else:
        probability = feldman.true_label_probability(networks, images, layout.labels)
        store.save_array(f"{name}-probability", probability)
    if runs[0].config.measure_at:
        stacked = stack_tracking(runs)
        store.save_array(f"{name}-correct", stacked["correct"])
        store.save_array(f"{name}-confidence", stacked["probability"])
        store.save_array(f"{name}-epochs", stacked["epochs"])


def dejavu_guesses(config: Config, networks: list, layout: Layout, public: torch.Tensor,
                   device: torch.device) -> np.ndarray:  # fmt: skip
    """uint8 ``[K, N]``: whether model k's kNN (``measure.dejavu.infer_labels``) guesses each
    candidate's label from its periphery among the full public images."""
    options = config.dejavu
    test = layout.bundle.test
    crops = periphery_crop(layout.images, options.box, options.fill)
    labels = layout.labels.numpy()
    guesses = []
    for network in networks:
        found = infer_labels(network, crops, test.images[public], test.labels[public],
                             k=options.k, tap=options.tap, num_classes=layout.bundle.num_classes,
                             device=device)  # fmt: skip
        guesses.append(found.predicted == labels)
    return np.stack(guesses).astype(np.uint8)


def stack_tracking(runs: list[TrainResult]) -> dict[str, np.ndarray]:
    """The tracking hook's outputs of every model and epoch: ``correct`` / ``probability``
    [K, E, V, N] and ``epochs`` [E]."""
    per_model = [run.measurements() for run in runs]
    epochs = list(per_model[0])
    for run, measured in zip(runs, per_model, strict=True):
        if list(measured) != epochs or epochs != run.config.measure_at:
            raise RuntimeError(
                f"run {run.run.path} holds measurements at epochs {list(measured)}, expected "
                f"{run.config.measure_at}: delete the run directory to train it again"
            )
    stacked = {key: np.stack([np.stack([m[epoch][f"{HOOK}/{key}"] for epoch in epochs])
                              for m in per_model])
               for key in ("correct", "probability")}  # fmt: skip
    return {"correct": stacked["correct"].astype(np.uint8),
            "probability": stacked["probability"].astype(np.float16),
            "epochs": np.asarray(epochs, dtype=np.float64)}  # fmt: skip


def save_tables(store: RunDir, atlas: Any) -> None:
    store.save_table("atlas_scores", atlas.scores)
    store.save_table("atlas_reliability", atlas.reliability)
    store.save_table("atlas_reliability_curve", atlas.curves)
    store.save_table("atlas_agreement", atlas.agreement)
    store.save_table("atlas_detection", atlas.detection)
    store.save_table("atlas_membership", atlas.membership)
    store.save_table("atlas_roc", atlas.roc)
    if len(atlas.layers):
        store.save_table("atlas_layermem", atlas.layers)


# --- rescoring ---------------------------------------------------------------------------------

RESCORED = ("stats", "membership")  # what a rescore may change: never the models or arrays


def rescore(path: str | Path, config: Config | None = None) -> AtlasSummary:
    """``mnemoscope rescore PATH``: every table, figure and ``summary.json`` of the finished
    atlas in ``path`` recomputed from its stored arrays (``scores.score_atlas``), under its
    lock, with its own config or ``config``, which may change only ``stats`` and
    ``membership`` (the statistics; no model is trained or measured again)."""
    from mnemoscope import studies
    from mnemoscope.config_file import read_config

    with claim(path, kind="study") as store:
        if not store.is_complete:
            raise ValueError(f"{path} is not a finished atlas (no COMPLETE): run it first")
        stored = studies.load_config(read_config(store.path / "config.yaml"))
        if not isinstance(stored, Config):
            raise ValueError(f"{path} holds a {stored.study!r} study, not an atlas")
        if config is not None:
            mine, theirs = (c.model_dump(mode="json", exclude=set(RESCORED))
                            for c in (config, stored))  # fmt: skip
            changed = sorted(key for key in mine if mine[key] != theirs[key])
            if changed:
                raise ValueError(f"--config changes {', '.join(changed)}: a rescore may change "
                                 f"only {' and '.join(RESCORED)} (the models are the stored "
                                 "ones)")  # fmt: skip
            store.write_config(config.model_dump(mode="json"))  # removes COMPLETE
            stored = config
        store.unmark_complete()
        images = store.load_table("atlas_images")
        with store.timed("scoring"):
            atlas = score_atlas(store, stored, images)
            save_tables(store, atlas)
        draw_figures(store.path)
        classes = data.load(stored.data.name, **stored.data.options).classes
        found = summary_module.study_summary(stored, atlas, images, list(classes))
        store.write_summary(found.model_dump(mode="json"))
        store.update_meta(rescored=now_iso())
        store.mark_complete(prune=False)  # the stored arrays are not rewritten: they stay
    return found
