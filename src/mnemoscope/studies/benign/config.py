"""The config of the benign-memorization study (paper 003), validated before any work starts.

Defaults are the paper's: CIFAR-10 (all 50,000 training images), ResNet-18 with a one-hidden-
layer projector of width 65,536 without normalization, Adam (0.9, 0.999) at lr 4e-3 without a
schedule or weight decay, batch 256, MSE on one-hot targets, the standard augmentations of
table 6 (``benign`` preset) plus mixup (appendix F, table 6), kNN probing with k = 20 (section
3) on every tap, and the four settings of table 2 next to the network at initialization.

What the paper leaves open, and the choice made here:

* mixup's Beta(alpha, alpha): table 6 says only "Mixup: yes"; alpha = 1 (Zhang et al.'s CIFAR-10
  value).
* epochs: fig. 4 trains 13,000 epochs, fig. 6 5,000; the default is 5,000.
* "without augmentation" (columns RANDOM and CLEAN of table 2) means no augmentation and no
  mixup; the DA settings use both.
* fixed views (banks, fig. 6; i.i.d. augmentations, table 3) are trained without mixup by
  default: mixup would make the finite set of B views infinite again (``mixup`` option).
* fig. 6 keeps the number of gradient steps fixed (t = 5000 x 196): a bank of B views is
  trained for epochs / B passes (``banks.budget: steps``).

CPU-scale options that deviate from the paper are explicit here, with the paper's value as
default: ``data.train_size`` (a class-balanced subset), ``data.probe_size`` (clean images the
kNN probe is fitted on), ``data.test_size``, and ``verdict.fit_threshold``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mnemoscope.strict import StrictModel
from mnemoscope.studies.config import DataSpec, StudyConfig, StudyTrain, moved
from mnemoscope.training import AugmentConfig, ModelConfig, OptimConfig
from mnemoscope.training.config import overlay_fields

# The four training settings of table 2 (INIT, the fifth column, is every run's epoch 0).
SETTINGS = ("random+da", "random", "clean+da", "clean")
TAPS = ("layer1", "layer2", "layer3", "layer4", "embedding", "projector_hidden", "output")
BANK_MODES = ("label_preserving", "per_view")


class Data(DataSpec):
    """The dataset, and the training, probe and test images drawn from it."""

    name: str = Field("cifar10", description="dataset (paper 003: CIFAR-10, CIFAR-100, TinyIN)")
    train_size: int | None = Field(
        None,
        ge=20,
        description="training images, a class-stratified seeded subset; None = all "
        "(paper: all 50,000)",
    )
    probe_size: int | None = Field(
        None,
        ge=21,
        description="clean training images the kNN/linear probes are fitted on. None "
        "= the training images (paper); fewer = a stratified subset of them; more = the training "
        "images plus clean images not trained on, which steadies a probe fitted on a few hundred",
    )
    test_size: int | None = Field(
        None, ge=1, description="test images the clean probe is evaluated on; None = all"
    )
    split_seed: int = Field(0, ge=0, description="seed of the training, probe and test subsets")


# Appendix F, table 6: what a benign study's `train` is laid over.
PAPER_TRAIN: dict[str, Any] = {
    "model": {"name": "resnet18", "projector_hidden": 65536, "projector_norm": "none"},
    "optim": {"name": "adam", "lr": 4e-3, "betas": [0.9, 0.999], "weight_decay": 0.0,
              "schedule": "none"},
    "augment": {"name": "benign"},
    "objective": {"name": "random_labels", "loss": "mse", "mixup_alpha": 1.0, "label_seed": 0},
    "epochs": 5000,
    "batch_size": 256,
}  # fmt: skip


def paper_by_default(cls: type, train: Any) -> Any:
    """Validator of ``train`` (before parsing): the fields given laid over ``PAPER_TRAIN``."""
    if isinstance(train, dict):
        return overlay_fields(PAPER_TRAIN, train)
    return train


class ProbeSpec(StrictModel):
    k: int = Field(20, ge=1, description="neighbours of the kNN probe (paper: 20)")
    weighted: bool = Field(False, description="distance-weighted vote instead of majority")
    taps: list[str] = Field(default_factory=lambda: list(TAPS), min_length=1)
    linear: bool = Field(True, description="linear probe of the embedding at init and at the end")
    batch_size: int = Field(512, ge=1, description="images per forward pass (memory only)")
    feature_budget_gb: float = Field(
        2.0,
        gt=0,
        description="taps are extracted together while their features fit this budget "
        "(GB); larger ones one pass each (ResNet-18 layer1 is 65,536 numbers per image)",
    )

    @field_validator("taps")
    @classmethod
    def _known_taps(cls, taps: list[str]) -> list[str]:
        unknown = [tap for tap in taps if tap not in TAPS]
        if unknown:
            raise ValueError(f"unknown tap {unknown[0]!r}: choose from {list(TAPS)}")
        if "embedding" not in taps:
            raise ValueError("probe.taps must include 'embedding': the verdict probes it")
        return [tap for tap in TAPS if tap in taps]  # computation order, no repeats


class InvarianceSpec(StrictModel):
    images: int = Field(256, ge=2, description="training images eq. 2 is averaged over")
    views: int = Field(4, ge=2, description="fixed augmentations per image (all pairs are used)")
    seed: int = Field(0, ge=0, description="seed of the images and their views")


class VerdictSpec(StrictModel):
    fit_threshold: float = Field(
        1.0,
        gt=0,
        le=1,
        description="fraction of unaugmented training images whose random label "
        "the network must predict to count as a memorization (definition 4.1: all of them)",
    )
    margin: float = Field(
        0.0, ge=0, description="benign needs clean probe > init probe + margin (paper: 0)"
    )
    networks: int = Field(
        1,
        ge=1,
        description="networks per random-label setting (train.seed, +1, ...), each compared "
        "with its own initialization; with 2 or more the verdict needs the confidence interval "
        "of the mean gain over seeds to clear the margin, else it is 'undecided at this scale' "
        "(paper: one network, a point comparison)",
    )
    confidence: float = Field(
        0.95, gt=0, lt=1, description="level of the seed-level t interval of the mean gain"
    )


class BankSweep(StrictModel):
    """Fig. 6: B fixed augmentations per image, trained as a dataset of N x B views."""

    views: list[int] = Field(default_factory=list, description="values of B; empty = skip")
    modes: list[Literal["label_preserving", "per_view"]] = Field(
        default_factory=lambda: list(BANK_MODES),
        description="views share their image's random label, or each view has its own",
    )
    budget: Literal["steps", "epochs"] = Field(
        "steps",
        description="steps: epochs / B passes over the bank, the same gradient steps for "
        "every B (paper); epochs: the same number of passes",
    )
    mixup: bool = Field(False, description="mixup on top of the fixed views")
    seed: int = Field(0, ge=0, description="seed of the bank's views")

    @field_validator("views")
    @classmethod
    def _positive(cls, views: list[int]) -> list[int]:
        if any(view < 1 for view in views):
            raise ValueError(f"banks.views {views} must all be >= 1")
        return sorted(set(views))


class IidSweep(StrictModel):
    """Table 3: s images, each with B - 1 other same-class images as its "augmentations"."""

    views: list[int] = Field(default_factory=list, description="values of B; empty = skip")
    subset: int | None = Field(
        None, ge=20, description="s, images with i.i.d. augmentations; None = data.train_size"
    )
    mixup: bool = Field(False, description="mixup on top of the i.i.d. views")
    seed: int = Field(0, ge=0, description="seed choosing the same-class images")

    @field_validator("views")
    @classmethod
    def _at_least_two(cls, views: list[int]) -> list[int]:
        if any(view < 2 for view in views):
            raise ValueError(f"iid.views {views} must all be >= 2 (the image and one other)")
        return sorted(set(views))


class LabelNoiseSweep(StrictModel):
    """Figs. 11 and 13 (and the transfer of fig. 10): a fraction of the labels randomized."""

    fractions: list[float] = Field(default_factory=list, description="empty = skip")
    augmented: list[bool] = Field(
        default_factory=lambda: [True, False],
        min_length=1,
        description="train with the DA setting, without augmentation, or both (fig. 13)",
    )

    @field_validator("fractions")
    @classmethod
    def _fractions(cls, fractions: list[float]) -> list[float]:
        if any(not 0.0 <= f <= 1.0 for f in fractions):
            raise ValueError(f"label_noise.fractions {fractions} must lie in [0, 1]")
        return sorted(set(fractions))


class TransferTarget(StrictModel):
    name: str = Field(description="dataset the embeddings are probed on (fig. 10)")
    options: dict[str, Any] = Field(
        default_factory=dict, description="its mnemoscope.data options, e.g. {size: 28}"
    )


class SweepSpec(StrictModel):
    """Each sweep trains the random+da setting with one thing changed; empty lists skip."""

    epochs: int | None = Field(None, ge=1, description="epochs per sweep run; None = training's")
    measure_at: list[float] | None = Field(
        None, description="epochs probed in sweep runs; None = train.measure_at"
    )
    banks: BankSweep = Field(default_factory=BankSweep)
    iid: IidSweep = Field(default_factory=IidSweep)
    num_classes: list[int | Literal["per_sample"]] = Field(
        default_factory=list, description="fig. 9: random classes C, or one per sample"
    )
    label_noise: LabelNoiseSweep = Field(default_factory=LabelNoiseSweep)
    projector_hidden: list[int] = Field(default_factory=list, description="fig. 8: widths")
    randaugment: list[int] = Field(
        default_factory=list, description="fig. 12: RandAugment magnitudes (0..30), online"
    )
    transfer: list[TransferTarget] = Field(
        default_factory=list, description="fig. 10: datasets the embeddings are probed on"
    )

    @field_validator("num_classes")
    @classmethod
    def _classes(cls, values: list[int | str]) -> list[int | str]:
        if any(isinstance(v, int) and v < 2 for v in values):
            raise ValueError(f"num_classes {values}: every C must be >= 2 (or 'per_sample')")
        return list(dict.fromkeys(values))

    @field_validator("projector_hidden", "randaugment")
    @classmethod
    def _unique(cls, values: list[int]) -> list[int]:
        if any(v < 0 for v in values):
            raise ValueError(f"sweep values {values} must be >= 0")
        return sorted(set(values))


class ToySpec(StrictModel):
    """Appendix E, fig. 14: linear encoder + nearest-prototype projector on random labels."""

    enabled: bool = True
    samples: list[int] = Field(default_factory=lambda: [4, 16, 64, 128], min_length=1)
    augmentations: list[int] = Field(default_factory=lambda: [1, 4, 16, 64], min_length=1)
    dim: int = Field(32, ge=2, description="d, input dimension")
    class_dim: int = Field(2, ge=1, description="d1 < d, coordinates that carry the class")
    classes: int = Field(5, ge=2, description="C, true (and random) classes")
    prototypes: int = Field(64, ge=1, description="K, prototypes of the projector (its capacity)")
    sigma: float = Field(1.0, gt=0, description="Sigma2 = Sigma3 = 10 Sigma1 = sigma^2 I")
    centre_scale: float = Field(1.0, gt=0, description="std of the random class centres")
    steps: int = Field(300, ge=1, description="full-batch Adam steps")
    lr: float = Field(0.02, gt=0)
    probe_points: int = Field(1000, ge=21, description="fresh labelled points the kNN is fit on")
    test_points: int = Field(1000, ge=1, description="fresh test points")
    repetitions: int = Field(2, ge=1, description="repetitions per cell, averaged")
    seed: int = Field(
        0, ge=0, description="the repetitions use seeds seed .. seed + repetitions - 1"
    )
    k: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _dims(self) -> ToySpec:
        if self.class_dim >= self.dim:
            raise ValueError(f"toy.class_dim={self.class_dim} must be < toy.dim={self.dim}")
        if any(v < 1 for v in self.samples + self.augmentations):
            raise ValueError("toy.samples and toy.augmentations must all be >= 1")
        return self


class Config(StudyConfig):
    """The benign-memorization study: table 2 settings probed per tap, verdict, sweeps, toy."""

    study: Literal["benign"] = "benign"
    data: Data = Field(default_factory=Data)
    train: StudyTrain = Field(
        default_factory=lambda: StudyTrain.model_validate(PAPER_TRAIN),
        description="what every network shares, laid over the paper's (appendix F, table 6: "
        "ResNet-18, projector 65,536 without normalization, Adam lr 4e-3 without schedule or "
        "weight decay, batch 256, MSE on one-hot targets, mixup alpha 1, 5,000 epochs). "
        "objective: the random-label objective of the random settings (its loss, mixup_alpha "
        "and label_seed; the clean settings train `supervised` with the same loss and mixup, "
        "mixup only with augmentation); augment: the DA settings' augmentation and the T of "
        "the invariance measure; measure_at: epochs probed during training (0 and the last "
        "are added); seed: the first network's",
    )
    settings: list[Literal["random+da", "random", "clean+da", "clean"]] = Field(
        default_factory=lambda: list(SETTINGS),
        min_length=1,
        description="training settings of table 2 (init is always measured)",
    )
    probe: ProbeSpec = Field(default_factory=ProbeSpec)
    invariance: InvarianceSpec = Field(default_factory=InvarianceSpec)
    verdict: VerdictSpec = Field(default_factory=VerdictSpec)
    sweeps: SweepSpec = Field(default_factory=SweepSpec)
    toy: ToySpec = Field(default_factory=ToySpec)

    _paper_by_default = field_validator("train", mode="before")(paper_by_default)

    @field_validator("train")
    @classmethod
    def _random_labels_and_augmentation(cls, train: StudyTrain) -> StudyTrain:
        if train.objective.name != "random_labels":
            raise ValueError(
                f"train.objective {train.objective.name!r}: the benign study trains random "
                "labels (and derives its clean settings from them): use random_labels"
            )
        if train.augment is None:
            raise ValueError("train.augment: name the DA settings' augmentation (paper: benign)")
        return train

    @classmethod
    def upgrade(cls, raw: dict[str, Any]) -> list[str]:
        notes = []
        training = raw.pop("training", None)
        if isinstance(training, dict):
            if "train" in raw:
                raise ValueError("both training (an earlier version's key) and train are set")
            objective = {"name": "random_labels"}
            for key in ("loss", "mixup_alpha", "label_seed"):
                if key in training:
                    objective[key] = training.pop(key)
            # A section given there was whole (its own defaults), never laid over the paper's
            for key, section in (("model", ModelConfig), ("optim", OptimConfig),
                                 ("augment", AugmentConfig)):  # fmt: skip
                if isinstance(training.get(key), dict):
                    training[key] = section.model_validate(training[key]).model_dump(mode="json")
            raw["train"] = {**training, "objective": objective}
            notes.append("training is now train (its loss, mixup_alpha and label_seed are "
                         "train.objective's)")  # fmt: skip
        notes += moved(raw, "verdict.seeds", "verdict.networks")
        notes += moved(raw, "toy.seeds", "toy.repetitions")
        return notes

    @field_validator("settings")
    @classmethod
    def _unique_settings(cls, settings: list[str]) -> list[str]:
        return [setting for setting in SETTINGS if setting in settings]

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        late = [p for p in self.train.measure_at if not 0 <= p <= self.train.epochs]
        if late:
            raise ValueError(
                f"train.measure_at epoch {late[0]} is outside 0..{self.train.epochs}"
            )
        sweep_epochs = self.sweep_epochs
        late = [p for p in (self.sweeps.measure_at or []) if not 0 <= p <= sweep_epochs]
        if late:
            raise ValueError(f"sweeps.measure_at epoch {late[0]} is outside 0..{sweep_epochs}")
        if "projector_hidden" in self.probe.taps and not self.train.model.projector_hidden:
            raise ValueError(
                "probe.taps has 'projector_hidden' but train.model.projector_hidden is 0/None "
                "(a linear head has no hidden layer): drop the tap or give the projector a width"
            )
        size, iid = self.data.train_size, self.sweeps.iid.subset
        batch = self.train.batch_size
        for name, images in (("data.train_size", size), ("sweeps.iid.subset", iid)):
            if images is not None and batch > images:
                raise ValueError(
                    f"train.batch_size={batch} is larger than {name}={images}: a batch "
                    "cannot hold more images than the training set"
                )
        if size is not None and self.invariance.images > size:
            raise ValueError(
                f"invariance.images={self.invariance.images} exceeds data.train_size={size}: the "
                "invariance sample is drawn from the training images"
            )
        if iid is not None and size is not None and iid > size:
            raise ValueError(f"sweeps.iid.subset={iid} is larger than data.train_size={size}")
        if self.toy.enabled and self.toy.probe_points < self.toy.k:
            raise ValueError(f"toy.probe_points={self.toy.probe_points} < toy.k={self.toy.k}")
        return self

    def describe(self) -> str:
        return f"{self.data.name}, {self.train.model.name}; {self.train.epochs} epochs"

    @property
    def sweep_epochs(self) -> int:
        return self.sweeps.epochs or self.train.epochs

    @property
    def sweep_measure_at(self) -> list[float]:
        points = self.sweeps.measure_at
        return list(self.train.measure_at if points is None else points)
