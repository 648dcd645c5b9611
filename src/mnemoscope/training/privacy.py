"""DP-SGD (Abadi et al. 2016) through Opacus: paper 002 section 4.6 and table 5.

With ``TrainConfig.privacy`` set, every optimizer step of the engine is DP-SGD:

1. Poisson sampling: each training image joins the step's batch independently with probability
   q = batch_size / n (n = the training subset), drawn from the run's generator; an epoch is
   ceil(n / batch_size) such steps, Opacus' ``DPDataLoader`` convention.
2. Per-example gradients g_i of the per-example loss l_i (Opacus' ``GradSampleModule`` hooks on
   the network and the method's own modules), each clipped to norm C = ``max_grad_norm``:
   g~_i = g_i / max(1, ||g_i|| / C).
3. Gaussian noise: g = (sum_i g~_i + N(0, sigma^2 C^2 I)) / (q n), Opacus' ``DPOptimizer``
   (its noise drawn from a generator seeded by the run's), then the configured optimizer
   (Adam, AdamW, SGD...) steps on g.
4. sigma is calibrated before training so that the accountant's (epsilon, delta) after all
   epochs x ceil(n / batch_size) steps at rate q is the target (``get_noise_multiplier``); the
   epsilon actually spent (at most the target, within Opacus' tolerance 0.01) is recorded
   in the run's ``meta.json`` (``privacy``) and per epoch in ``tables/metrics`` (``epsilon``).
   A target the accountant cannot reach (Opacus' search gives up, or ends at a sigma whose
   epsilon is 0 or negative: no guarantee is) is refused before training, naming the smallest
   epsilon the accountant reaches for that n, batch size and epochs (``Unreachable``).

Only methods whose loss is a mean of independent per-example terms qualify
(``Method.independent_examples``: supervised, random labels, MAE): in SimCLR an image's loss
depends on the other images of the batch (its negatives), in DINO on the batch's center, in
VICReg and Barlow Twins on batch statistics, in BYOL and SimSiam on BatchNorm statistics of
the batch in the projector and predictor, so clipping one example's gradient does not bound its
influence. Those are refused with that reason. Mixup (an image mixed with another) likewise.

What DP-SGD changes in a run, recorded in ``meta.json`` (``privacy``) and said here once:

* BatchNorm mixes the examples of a batch: the network is built with ``norm: groupnorm``
  (every BatchNorm replaced by GroupNorm(min(32, C), C), Opacus' ``ModuleValidator.fix``;
  ``models.build``). A ViT has LayerNorm only (the projector's BatchNorm, if any, is replaced).
  On a projector's hidden vector GroupNorm normalizes groups of C / 32 values: keep C >= 128
  there, or use ``projector_norm: none``; C <= 32 (one value a group, normalized to a
  constant) is refused for the methods that train the head (supervised, random labels; MAE
  does not train it). Measurements fold BatchNorm only (``models.folding``):
  GroupNorm networks are measured as they are.
* Parameters owned directly by a module Opacus has no per-example rule for are frozen at
  their initialization: a ViT's CLS token and position embedding (MAE's is a fixed sine-cosine
  one anyway) and the MAE decoder's mask token (their names are listed in ``frozen``).
  Parameters the loss never reaches (MAE leaves the projector untrained) stay untouched, as
  without DP. timm's ``LayerNorm`` (nn.LayerNorm with the same F.layer_norm) uses Opacus'
  LayerNorm rule. In-place activations run out of place (the same values; autograd's
  backward hooks forbid in-place writes to their outputs).
* fp32 throughout (no bf16 autocast: per-example gradients and their norms in bf16 would
  clip the wrong examples), no channels_last (Opacus' conv rule unfolds contiguous inputs),
  no ``torch.compile`` and no alignment regularizer (refused: the hooks see each module once
  per step).

The paper trains with ViP's framework (Yu et al. 2023) on MAE and ViT-Tiny, which is DP-SGD on
the MAE loss as here; deviations from ViP's defaults are the configs' (batch size, epochs).
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from pydantic import Field, field_validator
from torch import nn

from mnemoscope.strict import StrictModel

# Test-only: "1" trains every DP-SGD run without its noise (privacy audit tests; see
# ``applied_noise_multiplier``). Deliberately no config key: no user config can turn it on.
ZERO_NOISE_ENV = "MNEMOSCOPE_TEST_ZERO_DP_NOISE"


class PrivacyConfig(StrictModel):
    """DP-SGD with a target (epsilon, delta) (paper 002 table 5: epsilon 20 and 8, delta 1/n).

    In the run key when set; a config without ``privacy`` keeps its old key."""

    epsilon: float = Field(description="target epsilon of the whole training (table 5: 20, 8)")
    delta: float | None = Field(
        None, description="target delta; None = 1/n, n = the training subset's size"
    )
    max_grad_norm: float = Field(
        1.0, description="per-example clipping norm C (Opacus' max_grad_norm; ViP: 1.0)"
    )
    accountant: Literal["rdp", "prv", "gdp"] = Field(
        "rdp", description="Opacus accountant that calibrates sigma and reports epsilon"
    )

    @field_validator("epsilon", mode="before")
    @classmethod
    def _epsilon_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(
                f"privacy.epsilon must be a positive number (e.g. 8), got {value!r}; "
                "leave privacy out (null) for no DP, epsilon = infinity"
            )
        return value

    @field_validator("epsilon")
    @classmethod
    def _epsilon_positive(cls, value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(
                f"privacy.epsilon must be a finite number > 0, got {value!r}; "
                "leave privacy out (null) for no DP, epsilon = infinity"
            )
        return value

    @field_validator("delta")
    @classmethod
    def _delta_probability(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value < 1:
            raise ValueError(f"privacy.delta must be in (0, 1) or null for 1/n, got {value!r}")
        return value

    @field_validator("max_grad_norm")
    @classmethod
    def _norm_positive(cls, value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"privacy.max_grad_norm must be a finite number > 0, got {value!r}")
        return value


def refusal(config: Any) -> str | None:
    """Why DP-SGD cannot train ``config`` (a ``TrainConfig`` with ``privacy``), or None."""
    from mnemoscope.training.objectives import method

    objective = config.objective
    if not method(objective.name).independent_examples:
        return (
            f"privacy (DP-SGD) needs a loss that is a mean of independent per-example terms, "
            f"but objective {objective.name!r} couples the examples of a batch (negatives, "
            "batch statistics or centering over the batch), so clipping one example's "
            "gradient does not bound its influence; use supervised, random_labels or mae"
        )
    if getattr(objective, "mixup_alpha", None) is not None:
        return "privacy (DP-SGD) with mixup: each mixed image carries another; set mixup_alpha null"
    hidden, model = config.model.projector_hidden, config.model
    if (method(objective.name).classification and model.projector_norm == "batchnorm"
            and hidden and hidden <= 32):  # fmt: skip
        # GroupNorm(min(32, C), C) with C <= 32 is one value a group, normalized to a constant
        return (
            f"privacy (DP-SGD) turns the projector's BatchNorm into GroupNorm(min(32, C), C): at "
            f"projector_hidden={hidden} each group holds one value, which it normalizes to a "
            f"constant, so the {objective.name} head would ignore its input and train at chance; "
            "give projector_hidden >= 64 (128 or more keeps the head informative) or "
            "projector_norm: none"
        )
    if config.alignment_lambda > 0:
        return "privacy (DP-SGD) with alignment_lambda > 0 is not supported: set it to 0"
    if config.compile:
        return "privacy (DP-SGD) with compile: Opacus' hooks need eager mode; set compile false"
    return None


def has_batch_norm(network: nn.Module) -> bool:
    return any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in network.modules())


@dataclass
class Accounting:
    """The privacy of a run: noise calibrated once from the config and the subset size n."""

    target_epsilon: float
    delta: float
    n: int  # the training subset
    batch_size: int  # the expected batch, q n
    sample_rate: float
    steps: int  # over the whole training
    noise_multiplier: float
    max_grad_norm: float
    accountant: str

    @classmethod
    def calibrate(cls, privacy: PrivacyConfig, n: int, batch_size: int, epochs: int) -> Accounting:
        """sigma for ``privacy``'s target over the whole run; ``Unreachable`` (bad input, before
        any training) when the accountant cannot reach the target with a positive epsilon."""
        delta = privacy.delta if privacy.delta is not None else 1.0 / n
        sample_rate = batch_size / n
        steps = epochs * math.ceil(n / batch_size)
        try:
            sigma = _noise_multiplier(privacy.epsilon, delta, sample_rate, steps,
                                      privacy.accountant)  # fmt: skip
        except ValueError:  # Opacus: "The privacy budget is too low."
            sigma = None
        spent = None if sigma is None else _epsilon(sigma, sample_rate, steps, delta,
                                                     privacy.accountant)  # fmt: skip
        if spent is None or not (math.isfinite(spent) and spent > 0):
            floor = _smallest_epsilon(delta, sample_rate, steps, privacy.accountant)
            raise Unreachable(
                f"privacy.epsilon {privacy.epsilon:g} cannot be reached: the {privacy.accountant} "
                f"accountant's epsilon for {n} training images, batch size {batch_size} and "
                f"{epochs} epoch(s) at delta {delta:.3g} "
                + (f"is {spent:.3g} at the noise Opacus calibrates (sigma {sigma:g}), and no "
                   "guarantee has an epsilon <= 0" if spent is not None
                   else "stays above it at any noise")
                + f"; the smallest epsilon it reaches here is about {floor:.3g}: give a target "
                "epsilon at least that (more images, fewer epochs or a smaller batch lower it)"
            )  # fmt: skip
        return cls(privacy.epsilon, delta, n, batch_size, sample_rate, steps, float(sigma),
                   privacy.max_grad_norm, privacy.accountant)  # fmt: skip

    def epsilon(self, steps: int) -> float:
        """The accountant's epsilon at ``delta`` after ``steps`` steps (0 before any)."""
        if steps == 0:
            return 0.0
        from opacus.accountants import create_accountant

        accountant = create_accountant(self.accountant)
        accountant.history = [(self.noise_multiplier, self.sample_rate, steps)]
        return float(accountant.get_epsilon(self.delta))

    def record(self, steps_done: int) -> dict[str, Any]:
        return {"target_epsilon": self.target_epsilon, "epsilon": self.epsilon(steps_done),
                "delta": self.delta, "n": self.n, "noise_multiplier": self.noise_multiplier,
                "sample_rate": self.sample_rate, "steps": steps_done,
                "max_grad_norm": self.max_grad_norm, "accountant": self.accountant}  # fmt: skip


class Unreachable(ValueError):
    """A target epsilon the accountant cannot reach for a run (bad input: exit 2)."""


def _epsilon(sigma: float, sample_rate: float, steps: int, delta: float, accountant: str) -> float:
    from opacus.accountants import create_accountant

    counting = create_accountant(accountant)
    counting.history = [(sigma, sample_rate, steps)]
    return float(counting.get_epsilon(delta))


@functools.lru_cache(maxsize=64)
def _smallest_epsilon(delta: float, sample_rate: float, steps: int, accountant: str) -> float:
    """The smallest positive epsilon the accountant reports on the sigmas Opacus' search
    tries first (20, 40, 80, ...: its epsilon falls with sigma until its bound breaks down at
    0 or below), rounded up to 2 significant digits. A target at least this is reached: the
    search stops at a sigma of that grid whose epsilon is positive, and bisects below it."""
    smallest, sigma = math.inf, 20.0
    while sigma <= 1e6:
        with warnings.catch_warnings():  # "Optimal order is the largest alpha": expected here
            warnings.simplefilter("ignore", UserWarning)
            epsilon = _epsilon(sigma, sample_rate, steps, delta, accountant)
        if not (math.isfinite(epsilon) and epsilon > 0):
            break
        smallest, sigma = min(smallest, epsilon), sigma * 2
    if not math.isfinite(smallest):
        return smallest
    scale = 10 ** (math.floor(math.log10(smallest)) - 1)
    return math.ceil(smallest / scale) * scale


@functools.lru_cache(maxsize=64)
def _noise_multiplier(
    epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str
) -> float:
    """Opacus' calibration (a search over sigma, seconds): the f and g encoders of a study
    share it, so it is computed once per process."""
    from opacus.accountants.utils import get_noise_multiplier

    return get_noise_multiplier(target_epsilon=epsilon, target_delta=delta,
                                sample_rate=sample_rate, steps=steps,
                                accountant=accountant)  # fmt: skip


def applied_noise_multiplier(calibrated: float) -> float:
    """The sigma DP-SGD adds: ``calibrated`` (the accountant's), or 0 when the environment sets
    ``MNEMOSCOPE_TEST_ZERO_DP_NOISE=1`` (``ZERO_NOISE_ENV``).

    The switch exists for tests only, never in a config or the CLI: it breaks DP-SGD on
    purpose (clipping and Poisson sampling stay, the noise goes) while the accountant still
    reports the epsilon of ``calibrated``, which is how the privacy audit's test shows that the
    audit catches a broken implementation (``studies.privacy_audit``: its empirical lower
    bound then exceeds the reported epsilon). A run trained with it records
    ``noise_multiplier_applied: 0`` in its ``meta.json`` ``privacy``; its run key is the
    ordinary one, so use it only in a fresh output directory."""
    return 0.0 if os.environ.get(ZERO_NOISE_ENV) == "1" else calibrated


def poisson_batch(count: int, sample_rate: float, generator: torch.Generator) -> torch.Tensor:
    """Positions of one Poisson-sampled batch: each of ``count`` images with prob. q."""
    return torch.nonzero(torch.rand(count, generator=generator) < sample_rate).flatten()


def _grad_samplers() -> dict[type, Any]:
    """Opacus' per-example rules, with timm's LayerNorm (nn.LayerNorm's F.layer_norm) added."""
    from opacus import GradSampleModule
    from timm.layers import LayerNorm as TimmLayerNorm

    samplers = GradSampleModule.GRAD_SAMPLERS
    samplers.setdefault(TimmLayerNorm, samplers[nn.LayerNorm])
    return samplers


def prepare_for_opacus(module: nn.Module) -> list[str]:
    """Make ``module`` fit Opacus' hooks in place: parameters owned directly by a module with
    no per-example rule are frozen (their names returned), in-place activations run out of
    place (autograd's backward hooks forbid in-place writes to their outputs; same values)."""
    samplers = _grad_samplers()
    frozen = []
    for name, child in module.named_modules():
        if getattr(child, "inplace", False):
            child.inplace = False
        if type(child) in samplers:
            continue
        for parameter_name, parameter in child.named_parameters(recurse=False):
            if parameter.requires_grad:  # no per-example rule: kept at initialization
                parameter.requires_grad_(False)
                frozen.append(f"{name}.{parameter_name}".lstrip("."))
    return frozen


@dataclass
class PrivateStep:
    """The DP-SGD machinery of one run, around its ordinary optimizer (which keeps its state
    and checkpoint): per-example gradient hooks, clipping and noise."""

    accounting: Accounting
    optimizer: Any  # opacus DPOptimizer over the run's optimizer
    trained: nn.Module  # the network and the method's own modules
    frozen: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, accounting: Accounting, network: nn.Module, owned: nn.Module | None,
               optimizer: torch.optim.Optimizer) -> PrivateStep:  # fmt: skip
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer

        trained = nn.ModuleDict({"network": network, **({"objective": owned} if owned else {})})
        frozen = prepare_for_opacus(trained)
        GradSampleModule(trained)  # hooks on every supported module of ``trained``
        noise = applied_noise_multiplier(accounting.noise_multiplier)  # tests may zero it
        private = DPOptimizer(optimizer, noise_multiplier=noise,
                              max_grad_norm=accounting.max_grad_norm,
                              expected_batch_size=accounting.batch_size)  # fmt: skip
        return cls(accounting, private, trained, frozen)

    def step(self, loss: torch.Tensor, generator: torch.Generator, device: torch.device) -> None:
        """Back-propagate ``loss`` (per-example gradients), clip, add noise (seeded from the
        run's ``generator``) and step the optimizer."""
        with warnings.catch_warnings():
            # The first layer's input needs no gradient; its hook fires on the output: expected.
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            loss.backward()
        for parameter in self.trained.parameters():
            # Not reached by the loss (no gradient at all): no update, as without DP.
            if parameter.requires_grad and parameter.grad is None:
                parameter.requires_grad_(False)
        seed = int(torch.randint(2**62, (1,), generator=generator))
        self.optimizer.generator = torch.Generator(device).manual_seed(seed)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
