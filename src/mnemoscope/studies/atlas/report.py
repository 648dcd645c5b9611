"""What the report shows of the atlas: captions, a section that states what was found (which
scores agree beyond noise, which finds which planted kind, how many models each needs) with its
figures and tables, and the gallery of the candidates two scores disagree on most."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mnemoscope.config_file import read_config
from mnemoscope.studies.atlas.figures import disagreement, gallery_pair
from mnemoscope.studies.atlas.summary import AtlasSummary
from mnemoscope.studies.record import Caption, GalleryImage, Section

CAPTIONS = {
    "atlas_agreement": Caption(
        "Spearman's rho of every pair of per-image scores over the ordinary candidates (below "
        "the diagonal), the noise ceiling the two scores' reliabilities allow (above) and each "
        "score's reliability (diagonal)", "paper 002 table 12 (SSLMem vs Feldman), extended to "
        "every score"),
    "atlas_reliability": Caption(
        "Split-half reliability of each per-image score against the number of models (subsets "
        "of k of the K models; dashed: Spearman-Brown from all K), with the target reliability"),
    "atlas_detection": Caption(
        "AUROC of every score for every planted kind against the ordinary candidates: which "
        "score finds which known answer", "paper 002 sec. 4.3 (atypical images), per score"),
    "atlas_roc": Caption(
        "LiRA membership inference on the model pool, ROC on log axes per method and variant "
        "(every model the target once, its Gaussians fitted on the models outside its pair)",
        "the log-scale ROC of Carlini et al., S&P 2022"),
    "atlas_disagreement": Caption(
        "The ordinary candidates two scores rank most differently"),
}  # fmt: skip
PER_IMAGE_TABLES = frozenset({"atlas_scores", "atlas_images", "atlas_roc",
                              "atlas_reliability_curve", "atlas_agreement"})  # fmt: skip
FINDINGS_FIGURES = ["atlas_agreement", "atlas_reliability", "atlas_detection", "atlas_roc"]
RELIABILITY_COLUMNS = ["score", "reliability", "view_reliability", "reliability_both",
                       "models_for_target"]  # fmt: skip


def sections(path: Path, summary: Any) -> list[Section]:
    if not isinstance(summary, AtlasSummary):
        return []
    found = [findings(path, summary), gallery(path, summary)]
    return [section for section in found if section is not None]


def findings_note(summary: AtlasSummary) -> str:
    """The atlas's findings in words, from the summary alone."""
    parts = [f"{summary.models} models per method ({', '.join(summary.methods)}), each trained "
             f"on the shared images and half of {summary.candidates} ordinary candidates plus "
             f"the planted ones; every score is read from the same models."]  # fmt: skip
    rows = [row for row in summary.scores if row.reliability is not None]
    if rows:
        target = rows[0].target if hasattr(rows[0], "target") else 0.8
        reached = [row.score for row in rows if row.reliability >= target]
        needs = ", ".join(
            f"{row.score} {row.reliability:.2f} ({_models(row.models_for_target)})"
            for row in rows if row.score in summary.headline.values())  # fmt: skip
        parts.append(f"How many models: reliability over {summary.models} models, and the "
                     f"models predicted for {target:g}: {needs}. "
                     + (f"At {target:g} already: {', '.join(reached)}." if reached else
                        f"No score reaches {target:g} with {summary.models} models."))  # fmt: skip
    if summary.agreement:
        parts.append(agreement_sentence(summary))
    by_kind: dict[str, list[str]] = {}
    for row in summary.detection:
        if row.auroc_low is not None and row.auroc_low > 0.5:
            by_kind.setdefault(row.kind, []).append(f"{row.score} {row.auroc:.2f}")
    kinds = list(dict.fromkeys(row.kind for row in summary.detection))
    if kinds:
        listed = "; ".join(f"{kind.replace('_', ' ')}: {', '.join(by_kind.get(kind, ['none']))}"
                           for kind in kinds)  # fmt: skip
        parts.append(f"Which score finds which planted kind (AUROC interval above 0.5): {listed}.")
    for score, means in summary.copies.items():
        if len(means) > 1:
            parts.append(f"Copies ({score}, mean score per image): " + ", ".join(
                f"{kind.replace('_', ' ')} {_value(value)}" for kind, value in means.items())
                + "; each copy's OUT models usually saw another copy.")  # fmt: skip
    return " ".join(parts)


def agreement_sentence(summary: AtlasSummary) -> str:
    """Which pairs agree beyond chance: Spearman > 0 at p < 0.05 over the ordinary candidates,
    read against the noise ceiling across methods; within a method the noise is shared."""
    sentences = []
    for same, what in ((False, "across methods (other trainings: the noise ceiling applies)"),
                       (True, "within a method (the same models and views: shared noise can "
                              "carry agreement past the ceiling)")):  # fmt: skip
        rows = [row for row in summary.agreement
                if row.same_models == same]  # fmt: skip
        if not rows:
            continue
        agree = [row for row in rows if row.spearman is not None and row.spearman_p is not None
                 and row.spearman > 0 and row.spearman_p < 0.05]  # fmt: skip
        strongest = sorted(agree, key=lambda row: -row.spearman)[:5]
        listed = "; ".join(f"{row.a} ~ {row.b} {row.spearman:.2f} (ceiling "
                           f"{_value(row.spearman_ceiling)})" for row in strongest)  # fmt: skip
        sentences.append(f"{what}: {len(agree)} of {len(rows)} pairs"
                         + (f", the strongest {listed}" if agree else ""))  # fmt: skip
    return ("Agreement beyond chance (Spearman > 0 at p < 0.05 over the ordinary candidates) "
            + "; ".join(sentences) + ".")  # fmt: skip


def findings(path: Path, summary: AtlasSummary) -> Section | None:
    tables_dir = path / "tables"
    tables = []
    reliability_path = tables_dir / "atlas_reliability.parquet"
    if reliability_path.exists():
        table = pd.read_parquet(reliability_path)
        tables.append(
            (
                "Reliability over models (and views) and the models each score needs",
                table[[c for c in RELIABILITY_COLUMNS if c in table.columns]],
            )
        )
    detection_path = tables_dir / "atlas_detection.parquet"
    if detection_path.exists():
        table = pd.read_parquet(detection_path)
        pivot = table.pivot(index="score", columns="kind", values="auroc")
        order = list(dict.fromkeys(table["score"]))
        tables.append(
            (
                "AUROC of each score per planted kind",
                pivot.reindex(order)[list(dict.fromkeys(table["kind"]))].reset_index(),
            )
        )
    membership_path = tables_dir / "atlas_membership.parquet"
    if membership_path.exists():
        tables.append(("Membership inference (LiRA)", pd.read_parquet(membership_path)))
    figures = [stem for stem in FINDINGS_FIGURES if (path / "figures" / f"{stem}.png").exists()]
    return Section("What the atlas found", "findings", findings_note(summary), figures=figures,
                   tables=tables, replaces=figures + ["atlas_reliability",
                                                      "atlas_membership"])  # fmt: skip


def gallery(path: Path, summary: AtlasSummary) -> Section | None:
    """The candidates the gallery pair of scores disagrees on most, as images."""
    scores_path = path / "tables" / "atlas_scores.parquet"
    images_path = path / "arrays" / "candidate_images.npy"
    if not scores_path.exists() or not images_path.exists():
        return None
    scores = pd.read_parquet(scores_path)
    config = read_config(path / "config.yaml")
    pair = gallery_pair(config, [row.score for row in summary.scores])
    if pair is None or not set(pair) <= set(scores.columns):
        return None
    images = np.load(images_path, allow_pickle=False)
    size = int((config.get("stats") or {}).get("gallery_size", 8))
    rows = []
    for title, part in disagreement(scores, pair, size).items():
        shown = []
        for rank, row in enumerate(part.itertuples(), start=1):
            label = summary.classes[row.label] if 0 <= row.label < len(summary.classes) else ""
            shown.append(GalleryImage(images[row.position], label, rank,
                                      f"{row.gap:+.2f}"))  # fmt: skip
        rows.append((title.capitalize(), shown))
    note = (f"Ordinary candidates ranked most differently by {pair[0]} and {pair[1]}: under "
            "each image the difference of its percentile ranks (first score minus second). "
            "Where both scores are reliable, these are the images the two notions of "
            "memorization disagree on; where one is noisy, its noise.")  # fmt: skip
    return Section(
        "Where two scores disagree",
        "disagreement",
        note,
        galleries=rows,
        replaces=["atlas_disagreement"],
    )


def _models(value: int | None) -> str:
    return f"{value} models" if value is not None else "no finite number of models"


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
