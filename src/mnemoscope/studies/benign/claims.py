"""Paper 003's headline claims read from the benign study's summary (``analysis.claims``).

Probe claims need two points of kNN accuracy (``KNN_MARGIN``, about two standard errors on
1,000-2,000 test images) in the paper's direction; the invariance claim 10% of the larger value.
"""

from __future__ import annotations

from mnemoscope.analysis.claims import KNN_MARGIN, Claim, Measured, NotMeasured, finite, signed
from mnemoscope.studies.benign.summary import BenignSummary


def _memorization_verdict(summary: BenignSummary, setting: str, expected: str
                          ) -> Measured | NotMeasured:  # fmt: skip
    row = next((r for r in summary.verdicts if r.setting == setting), None)
    if row is None:
        return NotMeasured(f"settings lists no {setting!r}: no verdict of definition 4.1 for it")
    value = (f"fits {row.train_acc_random:.1%} of its random labels; embedding kNN "
             f"{row.probe_acc:.1%} vs {row.init_probe_acc:.1%} at initialization: "
             f"{row.verdict}")  # fmt: skip
    verdict = {
        "no memorization": "not at this scale",
        "undecided at this scale": "undecided",  # the seed interval straddles the margin
        expected: "reproduced",
    }.get(row.verdict, "opposite")
    gain = row.gain if finite(row.gain) else row.probe_acc - row.init_probe_acc
    return Measured(value, verdict, None, gain if expected == "benign" else -gain)


def benign_with_augmentation(summary: BenignSummary) -> Measured | NotMeasured:
    """Definition 4.1 on random labels with augmentation: ``benign`` is reproduced."""
    return _memorization_verdict(summary, "random+da", "benign")


def malign_without_augmentation(summary: BenignSummary) -> Measured | NotMeasured:
    """Definition 4.1 on random labels without augmentation: ``malign`` is reproduced."""
    return _memorization_verdict(summary, "random", "malign")


def last_layers_memorize(summary: BenignSummary) -> Measured | NotMeasured:
    """Random labels without augmentation: clean kNN of the embedding minus that of the output
    layer, beyond two points (the output layer fits the noise, the encoder keeps the signal)."""
    knn = summary.clean_knn_final.get("random", {})
    embedding, output = knn.get("embedding"), knn.get("output")
    if not finite(embedding) or not finite(output):
        return NotMeasured("needs the 'random' setting probed at the embedding and output taps "
                           "(settings, probe.taps)")  # fmt: skip
    value = f"random labels: clean kNN of the embedding {embedding:.1%}, of the output {output:.1%}"
    return Measured(value, signed(embedding - output, KNN_MARGIN), None, embedding - output)


def augmentation_makes_invariant(summary: BenignSummary) -> Measured | NotMeasured:
    """Normalized invariance of the embedding (eq. 2, lower = more invariant): random labels
    with augmentation against without; 10% of the larger value is the margin."""
    values = summary.invariance_embedding_final
    with_da, without = values.get("random+da"), values.get("random")
    if not finite(with_da) or not finite(without):
        return NotMeasured("needs both 'random' and 'random+da' in settings")
    value = (f"invariance (lower = more invariant): with augmentation {with_da:.2f}, "
             f"without {without:.2f}")  # fmt: skip
    margin = 0.1 * max(abs(with_da), abs(without))
    return Measured(value, signed(without - with_da, margin), None, without - with_da)


def more_augmentations_help(summary: BenignSummary) -> Measured | NotMeasured:
    """The toy model at its smallest n: test kNN with the most augmentations minus with the
    fewest, beyond two points."""
    toy = summary.toy
    if toy is None:
        return NotMeasured("toy.enabled is off")
    most, fewest = toy.test_knn_most, toy.test_knn_fewest
    value = (f"toy model: test kNN {fewest:.1%} with B = {toy.fewest_augmentations}, "
             f"{most:.1%} with B = {toy.most_augmentations}")  # fmt: skip
    return Measured(value, signed(most - fewest, KNN_MARGIN), None, most - fewest)


CLAIMS = (
    Claim("003", "sec. 4, def. 4.1, table 1",
          "With augmentation, networks memorize random labels benignly: their features beat "
          "initialization",
          "benign with augmentation", "embedding kNN gain over init", benign_with_augmentation),
    Claim("003", "sec. 4, table 1",
          "Without augmentation, memorizing random labels is malign: features no better than "
          "initialization",
          "malign without augmentation", "embedding kNN loss against init",
          malign_without_augmentation),
    Claim("003", "sec. 4, fig. 4",
          "Random labels are fitted in the last layers; the encoder keeps the clean signal",
          "last layers memorize", "clean kNN embedding - output", last_layers_memorize),
    Claim("003", "sec. 5, eq. 2, fig. 7",
          "Training with augmentation makes the features invariant to it",
          "augmentation makes invariant", "invariance without - with augmentation",
          augmentation_makes_invariant),
    Claim("003", "sec. 5.1, app. E, fig. 14",
          "At fixed capacity, more augmentations give better features (toy model)",
          "more augmentations help (toy)", "toy test kNN most - fewest augmentations",
          more_augmentations_help),
)  # fmt: skip
