"""Every network of the study as a ``Job``: its TrainConfig, training set and probe targets.

The main jobs are table 2's settings; each sweep trains the random+da setting with one thing
changed (fig. 6 banks, table 3 i.i.d. augmentations, fig. 9 classes, figs. 11/13 label noise,
fig. 8 projector width, fig. 12 RandAugment strength). A job whose TrainConfig equals another's
(e.g. label noise 1.0 with augmentation = random+da) has the same run key, so the engine trains
it once.

Settings (appendix F, table 6; "without augmentation" = no augmentation and no mixup):

    random+da  random labels, `train.augment` + mixup      clean+da  true labels, same
    random     random labels, no augmentation                 clean     true labels, same

The noisy probe and the fit accuracy are measured on the trained images that the clean probe is
fitted on (all of them unless ``data.probe_size`` is smaller than the training set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mnemoscope import augment, data
from mnemoscope.studies.benign.banks import BankRecipe, IidRecipe, iid_groups
from mnemoscope.studies.benign.config import Config
from mnemoscope.studies.benign.probing import ProbeData, ProbeHook, ProbeTargets, TargetsSpec
from mnemoscope.training import DataRecipe, RunSpec, TrainConfig
from mnemoscope.training.labels import random_labels
from mnemoscope.training.objectives import build_objective

HOOK_NAME = "benign"
VERDICT_SEEDS = "verdict_seeds"  # the sweep name of the further networks behind the verdict


@dataclass(frozen=True)
class StudyData:
    """The data every job shares: the dataset, the training subset, the probe data."""

    bundle: data.DatasetBundle
    train_index: torch.Tensor  # sorted indices into bundle.train of the training images
    probe: ProbeData
    random_labels: torch.Tensor  # the study's random labels over the whole training split


@dataclass
class Job:
    """One network: ``sweep`` ("main" or a sweep's name), a ``label`` naming it in tables and
    figures, the sweep columns ``params``, and how to train (``config`` on the dataset, or on
    the training set ``recipe`` builds from it) and probe it."""

    sweep: str
    label: str
    params: dict[str, Any]
    config: TrainConfig
    targets: ProbeTargets
    recipe: DataRecipe | None = None
    random_labels: bool = True  # trained on (partly) random labels: definition 4.1 applies

    def bundle(self, source: data.DatasetBundle) -> data.DatasetBundle:
        """The training set of the job, built from ``source`` (the study's dataset)."""
        return source if self.recipe is None else self.recipe.build(source)

    def spec(self, config: Config) -> RunSpec:
        """The job as a RunSpec: its config and recipe, probed by a ``ProbeHook``."""
        hook = ProbeHook(data=config.data, invariance=config.invariance,
                         augment=config.train.augment, probe=config.probe,
                         targets=TargetsSpec.of(self.targets),
                         final_epoch=float(self.config.epochs))  # fmt: skip
        return RunSpec(self.config, self.recipe, {HOOK_NAME: hook})


def measurement_points(epochs: int, points: list[float]) -> list[float]:
    """Epoch 0, the last epoch, and the requested points in between, sorted, once each."""
    return sorted({0.0, float(epochs), *(float(p) for p in points if 0 < p < epochs)})


def train_config(
    config: Config,
    *,
    labels: str,
    augmented: bool,
    epochs: int,
    measure_at: list[float],
    subset: torch.Tensor | None,
    objective: dict[str, Any] | None = None,
    augment_config: dict[str, Any] | None = None,
    mixup: bool | None = None,
    model: dict[str, Any] | None = None,
    seed: int | None = None,
    save_epochs: list[int] | None = None,
) -> TrainConfig:
    """The TrainConfig of one network: the study's training fields plus a setting.

    ``labels``: "random" (``random_labels`` objective) or "clean" (``supervised``);
    ``augmented``: the DA setting (``train.augment`` and mixup) or none; ``objective``
    updates the objective's fields (num_classes, label_noise, per_sample); ``augment_config``
    replaces the augmentation, ``mixup`` forces mixup on or off, ``model`` updates the model,
    ``seed`` replaces ``train.seed``, ``save_epochs`` keeps those weights (0: the
    initialization, for transfer probing).
    """
    train = config.train
    shared = train.objective  # the random-label objective: its loss, mixup and label seed
    use_mixup = augmented if mixup is None else mixup
    objective_fields: dict[str, Any] = {
        "name": "random_labels" if labels == "random" else "supervised",
        "loss": shared.loss,
        "mixup_alpha": shared.mixup_alpha if use_mixup else None,
    }
    if labels == "random":
        objective_fields["label_seed"] = shared.label_seed
    objective_fields.update(objective or {})
    if augment_config is None:
        augment_config = train.augment.model_dump(mode="json") if augmented else {"name": "none"}
    return train.run_config(
        config.data,
        None if subset is None else subset.tolist(),
        model={**train.model.model_dump(mode="json"), **(model or {})},
        objective=objective_fields,
        augment=augment_config,
        epochs=epochs,
        seed=train.seed if seed is None else seed,
        measure_at=measurement_points(epochs, measure_at),
        save_epochs=save_epochs or [],
    )


def trained_labels(config: TrainConfig, bundle: data.DatasetBundle) -> torch.Tensor:
    """The labels the engine trains ``config`` with, one per training-subset position: built by
    the engine's own objective builder, so they are the labels the network saw."""
    subset = config.data.subset
    index = torch.arange(len(bundle.train)) if subset is None else torch.tensor(subset)
    objective = build_objective(
        config.objective,
        train_labels=bundle.train.labels,
        subset=index,
        num_classes=bundle.num_classes,
        output_dim=config.model.output_dim,
        augmentation=augment.get("none", size=bundle.image_size),
        device=torch.device("cpu"),
    )
    return objective.targets.cpu()


def probed(study: StudyData, trained: torch.Tensor) -> torch.Tensor:
    """The trained images (sorted dataset indices) that the clean probe is fitted on."""
    return trained[torch.isin(trained, study.probe.fit_index)]


def _positions(sorted_index: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
    return torch.searchsorted(sorted_index, members)


def _subset_job(
    config: Config,
    study: StudyData,
    sweep: str,
    label: str,
    params: dict[str, Any],
    train: TrainConfig,
    subset: torch.Tensor,
) -> Job:
    """A job trained on images ``subset`` of the dataset itself (no derived training set)."""
    labels = trained_labels(train, study.bundle)
    probed_index = probed(study, subset)
    own = labels[_positions(subset, probed_index)]
    if train.objective.name == "supervised":
        noisy_labels = study.random_labels[probed_index]  # a control: clean nets on random labels
    elif getattr(train.objective, "per_sample", False):
        noisy_labels = None  # every label unique: a left-out image can never find its own
    else:
        noisy_labels = own
    targets = ProbeTargets(probed_index, own, noisy_labels)
    random = train.objective.name == "random_labels" and train.objective.label_noise > 0
    return Job(sweep, label, params, train, targets, random_labels=random)


def main_jobs(config: Config, study: StudyData) -> list[Job]:
    """Table 2's settings on the training subset; the first one also keeps its initial weights
    (``save_epochs`` 0), which transfer probing reads."""
    jobs = []
    subset = None if config.data.train_size is None else study.train_index
    for position, setting in enumerate(config.settings):
        labels, _, da = setting.partition("+")
        train = train_config(
            config,
            labels=labels,
            augmented=bool(da),
            epochs=config.train.epochs,
            measure_at=config.train.measure_at,
            subset=subset,
            save_epochs=[0] if position == 0 else None,
        )
        params = {"setting": setting}
        jobs.append(
            _subset_job(
                config,
                study,
                "main",
                setting,
                params,
                train,
                study.train_index,
            )
        )
    return jobs


def verdict_seed_jobs(config: Config, study: StudyData) -> list[Job]:
    """The further networks of each random-label setting of table 2 behind the verdict's
    seed-level interval: seeds train.seed + 1 .. + verdict.networks - 1 (the main job is the
    first), the same random labels and images, each probed at its own initialization."""
    jobs = []
    subset = None if config.data.train_size is None else study.train_index
    for setting in config.settings:
        labels, _, da = setting.partition("+")
        if labels != "random":
            continue
        for extra in range(1, config.verdict.networks):
            seed = config.train.seed + extra
            train = train_config(config, labels=labels, augmented=bool(da), seed=seed,
                                 epochs=config.train.epochs,
                                 measure_at=config.train.measure_at, subset=subset)  # fmt: skip
            params = {"setting": setting, "seed": seed}
            label = f"{setting} seed {seed}"
            jobs.append(_subset_job(config, study, VERDICT_SEEDS, label, params, train,
                                    study.train_index))  # fmt: skip
    return jobs


def _sweep_config(config: Config, study: StudyData, **fields: Any) -> TrainConfig:
    """A sweep run on the study's training subset, for ``sweeps.epochs``."""
    subset = None if config.data.train_size is None else study.train_index
    return train_config(
        config,
        epochs=config.sweep_epochs,
        measure_at=config.sweep_measure_at,
        subset=subset,
        **fields,
    )


def num_classes_jobs(config: Config, study: StudyData) -> list[Job]:
    """Fig. 9: random+da with C random classes, or one class per training image."""
    jobs = []
    for value in config.sweeps.num_classes:
        if value == "per_sample":
            objective = {"per_sample": True}
        else:
            objective = {"num_classes": value}
        train = _sweep_config(config, study, labels="random", augmented=True, objective=objective)
        jobs.append(
            _subset_job(
                config,
                study,
                "num_classes",
                f"C={value}",
                {"num_classes": str(value)},
                train,
                study.train_index,
            )
        )
    return jobs


def label_noise_jobs(config: Config, study: StudyData) -> list[Job]:
    """Figs. 11 and 13: a fraction of labels randomized, with and/or without augmentation."""
    jobs = []
    sweep = config.sweeps.label_noise
    for augmented in sweep.augmented:
        for fraction in sweep.fractions:
            train = _sweep_config(
                config,
                study,
                labels="random",
                augmented=augmented,
                objective={"label_noise": fraction},
            )
            label = f"noise={fraction:g}{' +da' if augmented else ''}"
            params = {"label_noise": fraction, "augmented": augmented}
            jobs.append(
                _subset_job(config, study, "label_noise", label, params, train, study.train_index)
            )
    return jobs


def projector_jobs(config: Config, study: StudyData) -> list[Job]:
    """Fig. 8: random+da with projector hidden width w (0 = a linear head)."""
    jobs = []
    for width in config.sweeps.projector_hidden:
        train = _sweep_config(
            config,
            study,
            labels="random",
            augmented=True,
            model={"projector_hidden": width or None},
        )
        jobs.append(
            _subset_job(
                config,
                study,
                "projector",
                f"width={width}",
                {"projector_hidden": width},
                train,
                study.train_index,
            )
        )
    return jobs


def randaugment_jobs(config: Config, study: StudyData) -> list[Job]:
    """Fig. 12: random labels with online RandAugment at magnitude m (plus mixup)."""
    jobs = []
    for strength in config.sweeps.randaugment:
        augmentation = {"name": "randaugment", "params": {"strength": strength}}
        train = _sweep_config(
            config, study, labels="random", augmented=True, augment_config=augmentation
        )
        jobs.append(
            _subset_job(
                config,
                study,
                "randaugment",
                f"strength={strength}",
                {"strength": strength},
                train,
                study.train_index,
            )
        )
    return jobs


def bank_epochs(config: Config, views: int) -> int:
    """Passes over a bank of B views: the same gradient steps for every B (paper) or epochs."""
    epochs = config.sweep_epochs
    if config.sweeps.banks.budget == "epochs":
        return epochs
    return max(1, round(epochs / views))


def bank_jobs(config: Config, study: StudyData) -> list[Job]:
    """Fig. 6: N x B fixed views, label-preserving or one random label per view."""
    sweep = config.sweeps.banks
    shared = config.train  # (each job's own TrainConfig is `train` below)
    index = study.train_index
    probed_index = probed(study, index)
    jobs = []
    for views in sweep.views:
        for mode in sweep.modes:
            preserving = mode == "label_preserving"
            epochs = bank_epochs(config, views)
            # label-preserving: the views carry their image's random label, trained as given;
            # per view: the engine's random_labels objective draws one label per view.
            train = train_config(
                config,
                labels="clean" if preserving else "random",
                augmented=False,
                epochs=epochs,
                measure_at=[],
                subset=None,
                mixup=sweep.mixup,
            )
            recipe = BankRecipe(index=index.tolist(), augment=shared.augment, views=views,
                                seed=sweep.seed,
                                label_seed=shared.objective.label_seed if preserving
                                else None)  # fmt: skip
            own = study.random_labels[probed_index] if preserving else None
            targets = ProbeTargets(probed_index, own, own)
            params = {
                "views": views,
                "mode": mode,
                "epochs": epochs,
                "steps": epochs * -(-len(index) * views // shared.batch_size),
            }
            jobs.append(Job("banks", f"B={views} {mode}", params, train, targets, recipe))
    return jobs


def iid_anchors(config: Config, study: StudyData) -> torch.Tensor:
    """s training images (all of them when ``sweeps.iid.subset`` is None)."""
    size = config.sweeps.iid.subset
    index = study.train_index
    if size is None or size == len(index):
        return index
    labels = study.bundle.train.labels[index]
    return data.split(index, {"s": size}, seed=config.data.split_seed, stratify_labels=labels)["s"]


def iid_jobs(config: Config, study: StudyData) -> list[Job]:
    """Table 3: random / clean labels with i.i.d. augmentations, next to the same s images
    trained without augmentation and with standard augmentation."""
    sweep = config.sweeps.iid
    if not sweep.views:
        return []
    anchors = iid_anchors(config, study)
    source = study.bundle
    # The "augmentations" come from the rest of the training split, never from the clean images
    # the probe is fitted on beyond the training set (those must stay unseen by training).
    fit = study.probe.fit_index
    excluded = torch.zeros(len(source.train), dtype=torch.bool)
    excluded[anchors] = True
    excluded[fit[~torch.isin(fit, study.train_index)]] = True
    pool = (~excluded).nonzero().flatten()
    jobs = []
    subset = (
        None if config.data.train_size is None and len(anchors) == len(source.train) else anchors
    )
    for setting in ("random", "clean", "random+da", "clean+da"):
        labels, _, da = setting.partition("+")
        train = train_config(
            config,
            labels=labels,
            augmented=bool(da),
            epochs=config.sweep_epochs,
            measure_at=config.sweep_measure_at,
            subset=subset,
        )
        jobs.append(
            _subset_job(
                config, study, "iid", setting, {"setting": setting, "views": 1}, train, anchors
            )
        )
    probed_index = probed(study, anchors)
    for views in sweep.views:
        groups = iid_groups(source.train.labels, anchors, pool, views, sweep.seed)
        for labels_name in ("random", "clean"):
            train = train_config(
                config,
                labels="clean",
                augmented=False,
                epochs=config.sweep_epochs,
                measure_at=config.sweep_measure_at,
                subset=None,
                mixup=sweep.mixup,
            )
            label_seed = config.train.objective.label_seed if labels_name == "random" else None
            recipe = IidRecipe(groups=groups.tolist(), label_seed=label_seed)
            if labels_name == "random":
                own = study.random_labels[probed_index]
                noisy = own
            else:
                own = source.train.labels[probed_index]
                noisy = study.random_labels[probed_index]
            targets = ProbeTargets(probed_index, own, noisy)
            setting = f"{labels_name}+iid"
            jobs.append(
                Job(
                    "iid",
                    f"{setting} B={views}",
                    {"setting": setting, "views": views},
                    train,
                    targets,
                    recipe,
                    random_labels=labels_name == "random",
                )
            )
    return jobs


def all_jobs(config: Config, study: StudyData) -> list[Job]:
    """Main jobs first (the reference run saves the init weights), then every sweep."""
    return [
        *main_jobs(config, study),
        *verdict_seed_jobs(config, study),
        *bank_jobs(config, study),
        *iid_jobs(config, study),
        *num_classes_jobs(config, study),
        *label_noise_jobs(config, study),
        *projector_jobs(config, study),
        *randaugment_jobs(config, study),
    ]


def random_label_set(bundle: data.DatasetBundle, seed: int) -> torch.Tensor:
    """The study's random labels (noise 1, the dataset's C), as the engine draws them."""
    return random_labels(bundle.train.labels, bundle.num_classes, noise=1.0, seed=seed)
