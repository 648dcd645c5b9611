"""Paper 001's headline claims, read from the profiles study's summary (``analysis.claims``).

All three compare averaged (or fixed-augmentation) profiles at mean p_t ~ 0.5 through their MAE
to binomial noise, with a margin of two standard deviations (over binomial draws) of the
difference; a paradigm that never reached mean p_t = 0.5 is ``not at this scale``.
"""

from __future__ import annotations

import math

from mnemoscope.analysis.claims import Claim, Measured, NotMeasured, signed
from mnemoscope.studies.profiles.summary import AlignmentRow, ProfilesSummary


def at_middle(summary: ProfilesSummary, variant: str) -> dict[str, AlignmentRow]:
    """Rows at the middle target (0.5) for ``variant``, by paradigm, against the paper's
    binomial null (not the network-block permutation null)."""
    rows = [r for r in summary.alignment if r.variant == variant and r.null == "binomial"]
    targets = sorted({row.target_p for row in rows})
    if not targets:
        return {}
    middle = 0.5 if 0.5 in targets else targets[len(targets) // 2]
    return {row.paradigm: row for row in rows if row.target_p == middle}


def _missing(rows: dict[str, AlignmentRow], *paradigms: str) -> NotMeasured | None:
    absent = [name for name in paradigms if name not in rows]
    if absent:
        return NotMeasured(f"the config trains no paradigm named {' or '.join(absent)}")
    return None


def _sd(*rows: AlignmentRow) -> str:
    sds = ", ".join(f"± {row.mae_sd or 0:.3f}" for row in rows)
    return f"{sds} (sd over binomial draws)"


def _margin(*rows: AlignmentRow) -> float:
    return 2 * math.sqrt(sum((row.mae_sd or 0) ** 2 for row in rows))


def _not_reached(*rows: AlignmentRow) -> bool:
    return any(not row.reached for row in rows)


def supervised_far_from_binomial(summary: ProfilesSummary) -> Measured | NotMeasured:
    """Averaged profiles at mean p_t ~ 0.5: MAE to binomial noise, supervised minus SimCLR,
    beyond two sd of the difference (sd over binomial draws)."""
    rows = at_middle(summary, "averaged")
    missing = _missing(rows, "supervised", "simclr")
    if missing:
        return missing
    supervised, simclr = rows["supervised"], rows["simclr"]
    value = (f"MAE to binomial at p ~ 0.5: supervised {supervised.mae:.3f}, "
             f"SimCLR {simclr.mae:.3f}")  # fmt: skip
    effect = supervised.mae - simclr.mae
    if _not_reached(supervised, simclr):
        return Measured(value + " (mean p_t 0.5 not reached)", "not at this scale",
                        _sd(supervised, simclr), effect)  # fmt: skip
    return Measured(value, signed(effect, _margin(supervised, simclr)), _sd(supervised, simclr),
                    effect)  # fmt: skip


def fixed_augmentations_move_simclr(summary: ProfilesSummary) -> Measured | NotMeasured:
    """SimCLR at mean p_t ~ 0.5: MAE of fixed-augmentation profiles minus averaged ones,
    beyond two sd."""
    averaged = at_middle(summary, "averaged")
    fixed = at_middle(summary, "fixed")
    missing = _missing(averaged, "simclr") or _missing(fixed, "simclr")
    if missing:
        return missing
    averaged_row, fixed_row = averaged["simclr"], fixed["simclr"]
    value = (f"SimCLR MAE to binomial: fixed augmentations {fixed_row.mae:.3f}, "
             f"averaged {averaged_row.mae:.3f}")  # fmt: skip
    interval = _sd(fixed_row, averaged_row)
    effect = fixed_row.mae - averaged_row.mae
    if _not_reached(averaged_row, fixed_row):
        return Measured(value + " (mean p_t 0.5 not reached)", "not at this scale", interval,
                        effect)  # fmt: skip
    return Measured(value, signed(effect, _margin(fixed_row, averaged_row)), interval, effect)


def simclr_like_random_labels(summary: ProfilesSummary) -> Measured | NotMeasured:
    """Averaged profiles at mean p_t ~ 0.5: SimCLR's MAE is closer to the nearest random-labels
    paradigm's than to supervised's, beyond two sd."""
    rows = at_middle(summary, "averaged")
    randoms = [name for name in rows if name.startswith("random")]
    missing = _missing(rows, "simclr", "supervised")
    if missing:
        return missing
    if not randoms:
        return NotMeasured("the config trains no random-label paradigm (name starting random)")
    simclr = rows["simclr"]
    nearest = min(randoms, key=lambda name: abs(rows[name].mae - simclr.mae))
    to_random = abs(rows[nearest].mae - simclr.mae)
    to_supervised = abs(rows["supervised"].mae - simclr.mae)
    value = (f"|MAE difference| of SimCLR to {nearest} {to_random:.3f}, "
             f"to supervised {to_supervised:.3f}")  # fmt: skip
    effect = to_supervised - to_random
    if _not_reached(simclr, rows[nearest], rows["supervised"]):
        return Measured(value + " (mean p_t 0.5 not reached)", "not at this scale", None, effect)
    margin = _margin(simclr, rows[nearest], rows["supervised"])
    return Measured(value, signed(effect, margin), None, effect)


CLAIMS = (
    Claim("001", "sec. 4.1, fig. 2 (left)",
          "Supervised training separates easy from hard images far more than SimCLR: its "
          "memorization profile is further from binomial noise",
          "supervised far from binomial", "supervised MAE - SimCLR MAE",
          supervised_far_from_binomial),
    Claim("001", "sec. 4.1, fig. 2 (right), fig. 4",
          "Fixing each image's augmentation moves SimCLR away from binomial noise: some "
          "image-augmentation pairs are much easier to learn than others",
          "fixed augmentations move SimCLR", "SimCLR MAE fixed - averaged",
          fixed_augmentations_move_simclr),
    Claim("001", "sec. 4.2, fig. 3",
          "SimCLR's memorization profiles look like random-label training's, not supervised "
          "training's",
          "SimCLR like random labels", "|SimCLR - supervised| - |SimCLR - random labels| MAE",
          simclr_like_random_labels),
)  # fmt: skip
