"""What the report shows of the SSLMem study: figure captions, the gallery of the most and
least memorized candidates, and Wang et al. 2024's LayerMem and UnitMem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mnemoscope.studies.record import Caption, GalleryImage, Section

LOCALIZING = "Wang et al., Localizing Memorization in SSL Vision Encoders, NeurIPS 2024"
CAPTIONS = {
    "seeds_sslmem_scores": Caption(
        "Each subset's mean memorization score minus that of the shared images S_S (candidates "
        "S_C above 0: memorized), and the AUROC of each kind of planted atypical image against "
        "the ordinary candidates (grey band: chance +- the claim's margin), one marker per study "
        "seed and a bar at their mean", "paper 002, table 2 and figs. 1, 9"),
    "seeds_sslmem_distributions": Caption(
        "Distribution of memorization scores per subset at each study seed (cumulative: a "
        "curve further right scores higher)", "paper 002, fig. 2c"),
    "sslmem_fig1_most_memorized": Caption(
        "The most and least memorized candidates (normalized SSLMem score under each image)",
        "paper 002, figs. 1 and 9"),
    "sslmem_fig2c_distributions": Caption(
        "Distribution of memorization scores per subset: candidates S_C (seen by f only), "
        "independent S_I (seen by g only), shared S_S, extra test images S_E",
        "paper 002, fig. 2c"),
    "sslmem_fig2a_alignment": Caption(
        "Alignment loss of each candidate under f (trained on it) against under g (not): "
        "points above the diagonal are memorized", "paper 002, fig. 2a"),
    "sslmem_fig2b_over_training": Caption(
        "Memorization score, training loss and probe accuracy over training epochs",
        "paper 002, fig. 2b"),
    "sslmem_fig5_threshold": Caption(
        "Fraction of candidates whose score exceeds each threshold", "paper 002, fig. 5"),
    "sslmem_taps": Caption("Memorization score read at each layer (tap) of the encoder, on "
                           "the same views", "paper 002, appendix A"),
    "sslmem_layermem": Caption(
        "LayerMem (mean SSLMem of the candidates read at each layer) and Delta-LayerMem (its "
        "change from the layer before), in the network's order", LOCALIZING),
    "sslmem_unitmem": Caption(
        "UnitMem of every unit of the f encoders, one histogram per layer: 1 = the unit "
        "responds to one training image only, 0 = equally to all", LOCALIZING),
    "sslmem_unitmem_top": Caption(
        "The training images that drive the most memorizing units (layer, unit, UnitMem)",
        LOCALIZING),
    "sslmem_fig8_feldman": Caption(
        "Most memorized candidates by SSLMem (SSL encoders), by Feldman's score (supervised "
        "encoders) and by SSLMem of the supervised encoders", "paper 002, fig. 8"),
    "sslmem_table1_methods": Caption("SSLMem on the candidates against probe accuracy, one "
                                     "point per training method", "paper 002, table 1"),
    "sslmem_fig4_lambda": Caption("Memorization and probe accuracy against the alignment "
                                  "regularizer's strength lambda (eq. 3)", "paper 002, fig. 4"),
    "sslmem_table13_agreement": Caption("Kendall's tau between every pair of trainings' "
                                        "rankings of the candidates", "paper 002, table 13"),
}  # fmt: skip
PER_IMAGE_TABLES = frozenset({
    "sslmem_scores", "sslmem_method_scores", "sslmem_feldman", "sslmem_runs", "sslmem_unitmem",
})  # fmt: skip
GALLERY_SIZE = 10
LOCALIZATION_FIGURES = ["sslmem_layermem", "sslmem_unitmem", "sslmem_unitmem_top"]
LAYERMEM_COLUMNS = ["tap", "layer", "layermem", "delta_layermem", "layermem_raw",
                    "delta_layermem_raw"]  # fmt: skip


def sections(path: Path, summary: Any) -> list[Section]:
    """The gallery (when the scores and candidate images are stored) and the localization
    section (when the run measured LayerMem or UnitMem)."""
    return [s for s in (gallery(path, summary), localization(path)) if s is not None]


def gallery(path: Path, summary: Any) -> Section | None:
    """The most and least memorized candidates as images, planted ones marked, from
    ``tables/sslmem_scores`` and ``arrays/candidate_images.npy``."""
    scores_path = path / "tables" / "sslmem_scores.parquet"
    images_path = path / "arrays" / "candidate_images.npy"
    if not scores_path.exists() or not images_path.exists():
        return None
    scores = pd.read_parquet(scores_path)
    images = np.load(images_path, allow_pickle=False)
    candidates = scores[scores["subset"] == "S_C"].reset_index(drop=True)
    center = getattr(summary, "center", "plain")
    column = "score_norm" if center == "plain" else f"score_norm_{center}"
    if column not in candidates or len(candidates) != len(images):
        return None
    ranked = candidates.assign(position=np.arange(len(candidates)))
    ranked = ranked.sort_values(column, ascending=False, kind="stable")
    classes = list(getattr(summary, "classes", []))
    planted_kinds = sorted(set(candidates["kind"]) - {"ordinary"})
    note = ("Candidates S_C are the images only the encoders f trained on, ranked by their "
            f"normalized SSLMem score ({center} estimate). Paper 002 finds atypical images among "
            "the most memorized.")  # fmt: skip
    if planted_kinds:
        note += (f" Images marked planted ({', '.join(k.replace('_', ' ') for k in planted_kinds)}"
                 ") were added to S_C as known atypical images: where they rank tells whether "
                 "the score finds them.")  # fmt: skip
    rows = []
    least = ranked.tail(GALLERY_SIZE)[::-1]
    for title, part, first_rank in (("Most memorized", ranked.head(GALLERY_SIZE), 1),
                                    ("Least memorized", least, len(ranked))):  # fmt: skip
        shown = []
        for offset, row in enumerate(part.itertuples()):
            planted = row.kind != "ordinary"
            if planted:
                label = row.kind.replace("_", " ")
            else:
                label = classes[row.label] if 0 <= row.label < len(classes) else str(row.label)
            rank = first_rank + offset if first_rank == 1 else first_rank - offset
            shown.append(GalleryImage(images[row.position], label, rank,
                                      f"{getattr(row, column):+.3f}", planted))  # fmt: skip
        rows.append((title, shown))
    return Section("Most memorized candidates", "gallery", note, galleries=rows,
                   replaces=["sslmem_fig1_most_memorized"], lead=True)  # fmt: skip


def localization(path: Path) -> Section | None:
    """Wang et al. 2024's section: LayerMem per tap in the network's order (from
    ``sslmem_taps``), UnitMem per layer and its most memorizing units, with their figures."""
    tables_dir = path / "tables"
    tables, shown = [], []
    taps_path = tables_dir / "sslmem_taps.parquet"
    if taps_path.exists():
        taps = pd.read_parquet(taps_path)
        if "delta_layermem" in taps.columns:
            ordered = taps.sort_values("depth", kind="stable")[LAYERMEM_COLUMNS]
            tables.append(("LayerMem per tap (network order)", ordered))
    for name, title in (("sslmem_unitmem_layers", "UnitMem per layer"),
                        ("sslmem_unitmem_top", "Most memorizing units")):  # fmt: skip
        table_path = tables_dir / f"{name}.parquet"
        if table_path.exists():
            tables.append((title, pd.read_parquet(table_path)))
            shown.append(name)
    figures = [stem for stem in LOCALIZATION_FIGURES
               if (path / "figures" / f"{stem}.png").exists()]  # fmt: skip
    if not tables and not figures:
        return None
    note = (f"{LOCALIZING}. LayerMem is SSLMem read at each layer's flattened, l2-normalized "
            "output with the same encoders and views (mean normalized score of the candidates "
            "S_C; raw: before normalization); Delta-LayerMem its change from the layer before. "
            "UnitMem of a unit is (mu_max - mu_rest) / (mu_max + mu_rest) over its mean "
            "activation per training image: 1 = it responds to one image only, 0 = to all "
            "equally.")  # fmt: skip
    return Section("Where memorization lives (LayerMem, UnitMem)", "localization", note,
                   figures=figures, tables=tables, replaces=figures + shown)  # fmt: skip
