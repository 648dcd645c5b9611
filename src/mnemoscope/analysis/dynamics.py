"""Learning-dynamics scores of single examples from their recognition over training.

Both read a sequence over measured epochs t = 1..E of one network's indicator I_t in {0, 1}
(``measure.recognition``) and, for cartography, of the probability q_t of the correct answer:

Forgetting events (Toneva et al., *An empirical study of example forgetting during deep neural
network learning*, ICLR 2019, section 3): a forgetting event is a transition from recognized to
not recognized between consecutive measurements,

    forgetting = sum_{t=2..E} I_{t-1} (1 - I_t),

and an example never recognized at any measurement is *never learned* (Toneva et al. rank those
as the most forgettable, with infinite forgetting events; here they are flagged separately).
Toneva et al. count over every mini-batch presentation; here the measurements are the
recognition tracking's epochs, so events between two measurements are missed.

First learned: the first measurement t at which the example is recognized (I_t = 1), as a
0-based index into the measurements; an example never recognized is censored at E, one past the
last measurement (it was not learned within training). A later first learning marks an example
the network found hard (the "learning time" ranked in memorization studies, e.g. Jiang et al.,
*Characterizing structural regularities of labeled data in overparameterized models*, ICML
2021).

Dataset cartography (Swayamdipta et al., *Dataset cartography: mapping and diagnosing datasets
with training dynamics*, EMNLP 2020, section 2), over the E measured epochs:

    confidence  = 1/E sum_t q_t
    variability = sqrt(1/E sum_t (q_t - confidence)^2)      (population sd, ddof = 0)
    correctness = 1/E sum_t I_t

The functions take the epoch axis as ``axis`` and reduce it; every other axis is kept.
"""

from __future__ import annotations

import numpy as np


def _sequence(name: str, values: np.ndarray, axis: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 0 or values.shape[axis] < 1:
        raise ValueError(f"{name} needs at least one measurement along axis {axis}, got shape "
                         f"{values.shape}")  # fmt: skip
    return values


def forgetting_events(correct: np.ndarray, axis: int = 0) -> np.ndarray:
    """The number of 1 -> 0 transitions of ``correct`` (0/1) along ``axis`` (int64)."""
    correct = _sequence("correct", correct, axis).astype(bool)
    before = np.take(correct, np.arange(correct.shape[axis] - 1), axis=axis)
    after = np.take(correct, np.arange(1, correct.shape[axis]), axis=axis)
    return (before & ~after).sum(axis=axis, dtype=np.int64)


def first_learned(correct: np.ndarray, axis: int = 0) -> np.ndarray:
    """The index along ``axis`` of the first 1 of ``correct`` (0/1), or the number of
    measurements E where there is none (censored: module docstring); int64."""
    correct = _sequence("correct", correct, axis).astype(bool)
    first = np.argmax(correct, axis=axis)  # 0 for an all-zero sequence: corrected below
    return np.where(correct.any(axis=axis), first, correct.shape[axis]).astype(np.int64)


def never_learned(correct: np.ndarray, axis: int = 0) -> np.ndarray:
    """True where ``correct`` is 0 at every measurement along ``axis``."""
    return ~_sequence("correct", correct, axis).astype(bool).any(axis=axis)


def cartography(
    probability: np.ndarray, correct: np.ndarray, axis: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(confidence, variability, correctness) along ``axis`` (module docstring)."""
    probability = _sequence("probability", probability, axis).astype(np.float64)
    correct = _sequence("correct", correct, axis)
    if probability.shape != correct.shape:
        raise ValueError(f"probability {probability.shape} and correct {correct.shape} must have "
                         "the same shape")  # fmt: skip
    if np.any((probability < 0) | (probability > 1)):
        raise ValueError("probability values must lie in [0, 1]")
    confidence = probability.mean(axis=axis)
    variability = probability.std(axis=axis, ddof=0)
    return confidence, variability, correct.astype(np.float64).mean(axis=axis)
