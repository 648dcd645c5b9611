"""SSLMem (paper 002, section 3): alignment loss (eq. 1) and memorization score (eq. 2), batched.

For an encoder f and an image x, with representations l2-normalized (appendix A) and d the l2
distance (section 4; option: the angular distance arccos(u . v) / pi, in [0, 1]):

    L_align(f, x) = E_{x', x'' ~ Aug(x)} [ d(f(x'), f(x'')) ]                          (eq. 1)

estimated with A augmentation pairs (section 4: A = 5). Encoders f_1..f_K were trained on
S_S + S_C and g_1..g_K on S_S + S_I; the memorization score of x is

    m(x) = mean_k L_align(g_k, x) - mean_k L_align(f_k, x)                             (eq. 2)

positive when the encoders that saw x align its views better than those that did not. Appendix A
normalizes by the range of the differences over the scored points,

    m_norm(x) = m(x) / (max_y m(y) - min_y m(y)),

which lies in [-1, 1] whenever the scored points hold both signs (e.g. S_C and S_I together).
``normalize_scores(raw, over=...)`` takes the range over a chosen set of points only (the study:
its ordinary images, so that planted atypical images do not set the scale).

Common random numbers: the 2A views of every image are drawn once, from a generator seeded by
``seed`` and the image's position, and the very same views go through every encoder, so the
differences between f and g are not blurred by augmentation noise.

Options beside the paper's defaults (each a documented deviation):

* ``reference="clean"``: d(f(x), f(x'_a)) between the clean image and A single views, as the
  authors' released scorer (``memorization_scores.py``) does, instead of two views per pair.
* the authors' released scorer with its pixel-range bug fixed (``SCORERS["authors-fixed"]``,
  the study's ``measure.scorer: authors-fixed``): ``reference="clean"`` with their augmentation.
  Their ``memorization_scores.py`` draws, 5 times per image, one view of RandomResizedCrop (area
  0.08-1), horizontal flip, ColorJitter(0.8, 0.8, 0.8, 0.2) with probability 0.8 and greyscale
  with probability 0.2 (no blur: the ``benign`` preset, the same stages and values), reads the
  clean image and the view through each encoder, flattens and l2-normalizes both and averages
  their l2 distance; the difference of the two encoders' means, divided by its range, is the
  score. Their bug: the images are already normalized to [-1, 1] when the augmentation runs,
  and torchvision's brightness and contrast clamp to [0, 1], so on most views every pixel
  darker than mid-grey becomes mid-grey. Fixed here: like every mnemoscope augmentation it acts
  on [0, 1] pixels, and the encoder normalizes its input itself.
* ``center="shared"``: subtract each encoder's mean alignment over a shared set (S_S) before
  averaging, L~(f_k, x) = L_align(f_k, x) - mean_{s in S_S} L_align(f_k, s). At small scale the
  encoders differ by a per-seed offset in overall alignment as large as the memorization gaps;
  centering removes it. A constant shift, so rankings, AUROCs and between-subset t-tests do not
  change; only the level (e.g. m(S_C) > 0) does.

The batched scorer runs every encoder once per chunk of images x views; the per-image loop of
the authors' scorer is benchmarked against it in ``bench/bench_sslmem.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mnemoscope import augment as augmentations
from mnemoscope.augment import Augmentation
from mnemoscope.models import Network
from mnemoscope.models.folding import fold_batch_norms

Distance = Literal["l2", "angular"]
Reference = Literal["views", "clean"]
Center = Literal["plain", "shared"]
Precision = Literal["fp32", "bf16"]
DISTANCES = ("l2", "angular")
REFERENCES = ("views", "clean")
CENTERS = ("plain", "shared")
PRECISIONS = ("fp32", "bf16")
DEFAULT_PAIRS = 5  # section 4: "averaging over five random augmentations"
# Named scorers: the options each sets (module docstring). eq1 = two views per pair (eq. 1).
SCORERS: dict[str, dict[str, Any]] = {
    "eq1": {},
    "authors-fixed": {"reference": "clean", "augment": "benign"},
}
# Views are drawn per block of this many images, from a generator seeded by (seed, block): the
# views of an image depend on the seed and its position only, never on batch_size or device.
VIEW_BLOCK = 256


# --- representations and distances -----------------------------------------------------------


def resolve_tap(encoder: nn.Module, tap: str = "auto") -> str | None:
    """The tap an encoder is read at; None = the module's own output, flattened.

    ``auto`` is "the full representation returned by the encoder" of appendix A: the tap just
    before the pooled ``embedding``, i.e. the whole token map (``tokens``, 257 x 192 for
    ViT-tiny) of a ViT and the last feature map (``layer4``, 49 x 2048 for an ImageNet
    ResNet-50) of a convnet. ``embedding`` (the pooled vector a linear probe reads) is an
    option. Any module that is not a mnemoscope ``Network`` is read at its output.
    """
    if not isinstance(encoder, Network):
        if tap not in ("auto", "output"):
            raise ValueError(
                f"tap {tap!r} needs a mnemoscope Network; a {type(encoder).__name__} is read at "
                "its output: use tap='auto'"
            )
        return None
    if tap == "auto":
        encoder_taps = encoder.encoder.tap_names  # ends with the pooled "embedding"
        return encoder_taps[encoder_taps.index("embedding") - 1]
    if tap not in encoder.tap_names:
        raise ValueError(f"unknown tap {tap!r}: this {encoder.arch!r} has {encoder.tap_names}")
    return tap


def representations(encoder: nn.Module, images: Tensor, taps: Sequence[str | None]) -> list[Tensor]:
    """l2-normalized fp32 representations ``[B, D]`` of float images in [0, 1] (appendix A),
    one per tap of ``taps`` (resolved names; None = the module's output), from one pass."""
    if None in taps:
        output = encoder(images)
        if isinstance(output, tuple | list):  # e.g. an MAE encoder's (features, indices)
            output = output[0]
        found = {None: output}
    else:
        found = encoder.features(images, list(dict.fromkeys(taps)))
    return [F.normalize(found[tap].flatten(1).float(), dim=1) for tap in taps]


def pair_distance(u: Tensor, v: Tensor, distance: Distance = "l2") -> Tensor:
    """d(u, v) row by row for unit vectors: ``l2`` = ||u - v||_2 in [0, 2], ``angular`` =
    arccos(u . v) / pi in [0, 1]."""
    if distance == "l2":
        return (u - v).norm(dim=-1)
    if distance == "angular":
        return torch.arccos((u * v).sum(-1).clamp(-1.0, 1.0)) / math.pi
    raise ValueError(f"distance {distance!r} is not one of {DISTANCES}")


# --- eq. 1 over many encoders at once ----------------------------------------------------------


def measurement_augmentation(
    augmentation: str | Augmentation | dict[str, Any], size: int | tuple[int, int]
) -> Augmentation:
    """An ``Augmentation`` from a preset name, a ``{"name": ..., "params": {...}}`` dict or
    an ``Augmentation`` (returned as is)."""
    if isinstance(augmentation, Augmentation):
        return augmentation
    if isinstance(augmentation, str):
        return augmentations.get(augmentation, size=size)
    if isinstance(augmentation, dict) and "name" in augmentation:
        return augmentations.get(augmentation["name"], size=size, **augmentation.get("params", {}))
    raise ValueError(
        f"augment={augmentation!r}: give a preset name ({', '.join(augmentations.names())}), "
        "a {'name': ..., 'params': {...}} dict or an Augmentation"
    )


def block_seed(seed: int, block: int, draw: int = 0) -> int:
    """The seed of the views of image block ``block`` in draw ``draw`` (a hash of all three via
    SeedSequence; draw 0 hashes ``[seed, block]`` alone)."""
    entropy = [seed, block] if draw == 0 else [seed, block, draw]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def draw_views(
    images: Tensor,
    augmentation: Augmentation,
    views: int,
    seed: int,
    block: int = 0,
    draw: int = 0,
) -> Tensor:
    """uint8 views ``[n, views, C, h, w]`` of the images of block ``block`` (``VIEW_BLOCK``
    images from position ``block * VIEW_BLOCK``), reproducible from ``(seed, block, draw)``.
    Further draws (``draw`` 1, 2, ...) add new views to those of draw 0 (``pairs: auto``)."""
    return augmentations.make_bank(images, augmentation, views, block_seed(seed, block, draw))


def check_options(
    pairs: int, reference: str, distance: str, seed: int, batch_size: int, draw: int = 0
) -> None:
    """Refuse bad scorer options before any work, naming the value and what is allowed."""
    checked = (("pairs", pairs, 1), ("seed", seed, 0), ("batch_size", batch_size, 1),
               ("draw", draw, 0))  # fmt: skip
    for name, value, low in checked:
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}={value!r} is invalid: need an integer >= {low}")
    if reference not in REFERENCES:
        raise ValueError(f"reference={reference!r} is not one of {REFERENCES}")
    if distance not in DISTANCES:
        raise ValueError(f"distance={distance!r} is not one of {DISTANCES}")


def alignment_losses(
    encoders: Sequence[nn.Module],
    images: Tensor,
    *,
    augment: str | Augmentation | dict[str, Any] = "simclr",
    pairs: int | Sequence[int] = DEFAULT_PAIRS,
    reference: Reference = "views",
    distance: Distance = "l2",
    tap: str = "auto",
    seed: int = 0,
    batch_size: int = 256,
    precision: Precision = "fp32",
    device: torch.device | str | None = None,
    per_pair: bool = False,
    draw: int = 0,
) -> Tensor:
    """L_align(e, x) (eq. 1) of every encoder e on every image x: float64 ``[E, N]`` on the CPU
    (``[E, N, A]``, one distance per pair, with ``per_pair``).

    Args:
        encoders: torch modules taking float images in [0, 1] (mnemoscope ``Network`` or any
            other: see ``resolve_tap``). Eval-mode copies with BatchNorm folded in
            (``models.folding``) are run; the encoders themselves are not changed.
        images: uint8 ``[N, C, H, W]`` (or float in [0, 1]).
        augment: measurement augmentation (preset name at the images' size, dict or object).
        pairs: A, the number of view pairs averaged (section 4: 5); or a list of draws
            [A_0, A_1, ...]: A_d pairs of draw ``draw + d`` each (what ``pairs: auto`` drew).
        reference: ``views`` = d(f(x'_a), f(x''_a)) over A pairs (eq. 1); ``clean`` =
            d(f(x), f(x'_a)) over A views (the authors' released scorer).
        distance: ``l2`` (paper) or ``angular``.
        tap: representation read (``auto``: the encoder's full output, see ``resolve_tap``).
        seed: fixes the views; all encoders see the same ones (common random numbers).
        batch_size: images x views per forward pass: speed and memory, never results.
        precision: ``fp32`` (default) or ``bf16`` (autocast: ~2x faster on CPUs with AMX, but
            its rounding moves L_align by ~1e-3, the size of small-scale memorization gaps).
        device: where to run; default the first encoder's parameters' device.
        per_pair: keep the A distances of every pair (for ``analysis.reliability``) instead
            of their mean.
        draw: 0 = the views of ``seed``; 1, 2, ... = further independent views of the same
            images (more pairs, e.g. ``pairs: auto``), the same for every encoder.
    """
    return alignment_losses_by_tap(
        encoders, images, [tap], augment=augment, pairs=pairs, reference=reference,
        distance=distance, seed=seed, batch_size=batch_size, precision=precision, device=device,
        per_pair=per_pair, draw=draw,
    )[tap]  # fmt: skip


@torch.no_grad()
def alignment_losses_by_tap(
    encoders: Sequence[nn.Module],
    images: Tensor,
    taps: Sequence[str],
    *,
    augment: str | Augmentation | dict[str, Any] = "simclr",
    pairs: int | Sequence[int] = DEFAULT_PAIRS,
    reference: Reference = "views",
    distance: Distance = "l2",
    seed: int = 0,
    batch_size: int = 256,
    precision: Precision = "fp32",
    device: torch.device | str | None = None,
    per_pair: bool = False,
    draw: int = 0,
) -> dict[str, Tensor]:
    """``alignment_losses`` at several taps from one forward pass per view: tap -> ``[E, N]``
    (``[E, N, A]`` with ``per_pair``).

    Every tap sees the same views, so per-layer scores are comparable (which layer memorizes).
    """
    if isinstance(pairs, Sequence) and not isinstance(pairs, str):
        if len(pairs) == 0:
            raise ValueError("pairs=[] is invalid: give a number of pairs or a list of draws")
        parts = [alignment_losses_by_tap(
            encoders, images, taps, augment=augment, pairs=count, reference=reference,
            distance=distance, seed=seed, batch_size=batch_size, precision=precision,
            device=device, per_pair=True, draw=draw + index,
        ) for index, count in enumerate(pairs)]  # fmt: skip
        joined = {tap: torch.cat([part[tap] for part in parts], dim=2) for tap in taps}
        return joined if per_pair else {tap: value.mean(dim=2) for tap, value in joined.items()}
    check_options(pairs, reference, distance, seed, batch_size, draw)
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is not one of {PRECISIONS}")
    if len(encoders) == 0:
        raise ValueError("encoders is empty: give at least one torch module")
    if isinstance(taps, str) or len(taps) == 0 or len(set(taps)) != len(taps):
        raise ValueError(f"taps must be a non-empty list of distinct tap names, got {taps!r}")
    if not isinstance(images, Tensor) or images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty [N, C, H, W] tensor, got {images!r:.80}")
    augmentation = check_measurement(images, augment, reference)
    if device is None:
        first = next(iter(encoders[0].parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    device = torch.device(device)
    resolved = [[resolve_tap(encoder, tap) for tap in taps] for encoder in encoders]
    views_per_image = 2 * pairs if reference == "views" else pairs
    clean = augmentations.get("none", size=augmentation.size) if reference == "clean" else None
    # Eval copies with BatchNorm folded into the layer before it: the same function, faster,
    # and the caller's encoders keep their mode.
    folded = [fold_batch_norms(encoder) for encoder in encoders]
    shape = (len(encoders), len(images), pairs)
    result = {tap: torch.empty(shape, dtype=torch.float64) for tap in taps}
    for block in range(math.ceil(len(images) / VIEW_BLOCK)):
        start, stop = block * VIEW_BLOCK, min(len(images), (block + 1) * VIEW_BLOCK)
        chunk = images[start:stop]
        views = draw_views(chunk, augmentation, views_per_image, seed, block, draw)
        if clean is not None:
            # the clean image first, then the A views: one forward pass for all of them
            reference_image = clean(chunk).mul(255).round().to(torch.uint8).unsqueeze(1)
            views = torch.cat([reference_image, views], dim=1)
        flat = views.flatten(0, 1)  # row i * V + v is view v of image i
        for index, (encoder, encoder_taps) in enumerate(zip(folded, resolved, strict=True)):
            per_tap = _representations(encoder, flat, encoder_taps, batch_size, precision, device)
            for tap, reps in zip(taps, per_tap, strict=True):
                reps = reps.view(len(chunk), views.shape[1], -1)
                if reference == "views":
                    d = pair_distance(reps[:, 0::2], reps[:, 1::2], distance)
                else:
                    d = pair_distance(reps[:, :1], reps[:, 1:], distance)
                result[tap][index, start:stop] = d.double().cpu()
    return result if per_pair else {tap: value.mean(dim=2) for tap, value in result.items()}


def _representations(
    encoder: nn.Module,
    views: Tensor,
    taps: list[str | None],
    batch_size: int,
    precision: str,
    device: torch.device,
) -> list[Tensor]:
    parts: list[list[Tensor]] = [[] for _ in taps]
    for start in range(0, len(views), batch_size):
        batch = views[start : start + batch_size].to(device).float().div_(255)
        with torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            for part, reps in zip(parts, representations(encoder, batch, taps), strict=True):
                part.append(reps)
    return [torch.cat(part) for part in parts]


def check_measurement(
    images: Tensor, augment: str | Augmentation | dict[str, Any], reference: str = "views"
) -> Augmentation:
    """The measurement augmentation of ``augment`` for ``images``, checked to be usable.

    A deterministic augmentation (``rotate``, or ``color_drop`` on greyscale images) gives two
    identical views, so with ``reference="views"`` every L_align would be 0: refused here, on a
    few images, before any encoder runs (studies call it before training).
    """
    augmentation = measurement_augmentation(augment, size=tuple(images.shape[-2:]))
    if reference == "views":
        views = draw_views(images[:16], augmentation, 2, seed=0)
        if torch.equal(views[:, 0], views[:, 1]):
            raise ValueError(
                f"augmentation {augmentation.name!r} gives identical views x' = x'' for these "
                "images, so every alignment loss would be 0: use reference='clean' (compare the "
                "clean image with each view) or a random augmentation"
            )
    return augmentation


# --- eq. 2 and the normalization of appendix A ---------------------------------------------------


def center_alignment(alignment: Tensor | np.ndarray, shared: Any) -> np.ndarray:
    """L~(e, x) = L_align(e, x) - mean_{s in shared} L_align(e, s), row by row (per encoder).

    ``shared``: column indices (or a boolean mask) of the shared points (S_S).
    """
    alignment = np.asarray(alignment, dtype=np.float64)
    index = np.asarray(shared)
    if index.dtype == bool:
        if index.shape != alignment.shape[1:]:
            raise ValueError(
                f"shared mask has shape {index.shape}, expected ({alignment.shape[1]},)"
            )
        index = np.flatnonzero(index)
    if index.size == 0:
        raise ValueError("center='shared' needs at least one shared point (S_S) to center on")
    return alignment - alignment[:, index].mean(axis=1, keepdims=True)


def memorization_score(
    align_f: Tensor | np.ndarray,
    align_g: Tensor | np.ndarray,
    *,
    center: Center = "plain",
    shared: Any = None,
) -> np.ndarray:
    """m(x) = mean_k L_align(g_k, x) - mean_k L_align(f_k, x) (eq. 2), float64 ``[N]``.

    ``align_f`` ``[K_f, N]`` and ``align_g`` ``[K_g, N]`` are eq. 1 per encoder and point. With
    ``center="shared"`` each encoder's row is first centered on the points ``shared``.
    """
    align_f = np.asarray(align_f, dtype=np.float64)
    align_g = np.asarray(align_g, dtype=np.float64)
    if align_f.ndim != 2 or align_g.ndim != 2 or align_f.shape[1] != align_g.shape[1]:
        raise ValueError(
            f"align_f {align_f.shape} and align_g {align_g.shape} must be [K, N] with one N"
        )
    if center not in CENTERS:
        raise ValueError(f"center={center!r} is not one of {CENTERS}")
    if center == "shared":
        if shared is None:
            raise ValueError("center='shared' needs `shared`: the indices of the S_S points")
        align_f, align_g = center_alignment(align_f, shared), center_alignment(align_g, shared)
    return align_g.mean(axis=0) - align_f.mean(axis=0)


def score_range(raw: np.ndarray, over: Any = None) -> float:
    """max m - min m over the points ``over`` (indices or a boolean mask; None = all); 0 for
    no points."""
    raw = np.asarray(raw, dtype=np.float64)
    chosen = raw if over is None else raw[np.asarray(over)]
    return float(chosen.max() - chosen.min()) if chosen.size else 0.0


def normalize_scores(raw: np.ndarray, over: Any = None) -> np.ndarray:
    """m(x) / (max m - min m) (appendix A); zeros if the range is 0.

    The range is taken over the points ``over`` (indices or a boolean mask; None = all of
    them) and divides every point, so that points outside ``over`` are scored on the same
    scale (and may leave [-1, 1]). The study passes its ordinary images: planted atypical
    images would otherwise set the scale of every ordinary score.
    """
    raw = np.asarray(raw, dtype=np.float64)
    spread = score_range(raw, over)
    return raw / spread if spread > 0 else np.zeros_like(raw)


@dataclass(frozen=True)
class SSLMemScores:
    """Per-image SSLMem results (float64 numpy arrays, images in input order).

    Attributes:
        align_f: ``[K_f, N]`` L_align(f_k, x) (eq. 1), as measured (never centered).
        align_g: ``[K_g, N]`` L_align(g_k, x).
        raw: ``[N]`` m(x) (eq. 2), centered on the shared points if ``center == "shared"``.
        normalized: ``[N]`` raw / (max - min) over these N points (appendix A).
        center: ``plain`` or ``shared``.
    """

    align_f: np.ndarray
    align_g: np.ndarray
    raw: np.ndarray
    normalized: np.ndarray
    center: str

    def to_frame(self) -> Any:
        """A pandas DataFrame: align_f, align_g (means over encoders), score_raw, score_norm."""
        import pandas as pd

        return pd.DataFrame(
            {
                "align_f": self.align_f.mean(axis=0),
                "align_g": self.align_g.mean(axis=0),
                "score_raw": self.raw,
                "score_norm": self.normalized,
            }
        )


def score(
    f_encoders: Sequence[nn.Module],
    g_encoders: Sequence[nn.Module],
    images: Tensor,
    *,
    augment: str | Augmentation | dict[str, Any] = "simclr",
    pairs: int | Sequence[int] = DEFAULT_PAIRS,
    reference: Reference = "views",
    distance: Distance = "l2",
    tap: str = "auto",
    center: Center = "plain",
    shared: Any = None,
    seed: int = 0,
    batch_size: int = 256,
    precision: Precision = "fp32",
    device: torch.device | str | None = None,
) -> SSLMemScores:
    """SSLMem scores (eq. 2) of ``images`` for encoders ``f_encoders`` (trained on the images of
    interest) and ``g_encoders`` (trained without them); see ``alignment_losses`` for the options.

    ``center="shared"`` centers each encoder's alignment on the images at ``shared`` (indices
    or a boolean mask into ``images``: points both f and g trained on, S_S).
    """
    if len(f_encoders) == 0 or len(g_encoders) == 0:
        raise ValueError(
            f"need at least one f and one g encoder, got {len(f_encoders)} f and "
            f"{len(g_encoders)} g"
        )
    if center not in CENTERS:
        raise ValueError(f"center={center!r} is not one of {CENTERS}")
    if center == "shared" and shared is None:
        raise ValueError("center='shared' needs `shared`: the indices of the S_S images")
    losses = alignment_losses(
        list(f_encoders) + list(g_encoders),
        images,
        augment=augment,
        pairs=pairs,
        reference=reference,
        distance=distance,
        tap=tap,
        seed=seed,
        batch_size=batch_size,
        precision=precision,
        device=device,
    ).numpy()
    align_f, align_g = losses[: len(f_encoders)], losses[len(f_encoders) :]
    raw = memorization_score(align_f, align_g, center=center, shared=shared)
    return SSLMemScores(align_f, align_g, raw, normalize_scores(raw), center)
