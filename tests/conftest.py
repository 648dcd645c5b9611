"""Builders of typed study summaries for tests of claims and reports (the smallest valid
summary of each study, with the numbers a test sets), and scripts/demo_results.py as a module."""

import pytest
import torch

from mnemoscope.environment import pin_threads
from mnemoscope.studies.benign.summary import BenignSummary
from mnemoscope.studies.dejavu.summary import DejaVuSummary
from mnemoscope.studies.privacy.summary import PrivacySummary
from mnemoscope.studies.profiles.summary import ProfilesSummary
from mnemoscope.studies.removal.summary import RemovalSummary
from mnemoscope.studies.sslmem.summary import SSLMemSummary


@pytest.fixture(autouse=True, scope="session")
def same_threads_for_every_run():
    """Every training in the tests uses torch's default thread count, whatever the machine's
    load: a run's bits depend on its thread count, and tests compare runs trained apart (a
    run's count is otherwise chosen from the cores free as it starts). A test's subprocess
    gets it with ``--threads``."""
    pin_threads(torch.get_num_threads())
    yield
    pin_threads(None)


def alignment_rows(supervised_mae: float, simclr_mae: float, reached: bool = True) -> list[dict]:
    """``summary["alignment"]`` records at p ~ 0.5 for four paradigms, both variants."""
    rows = []
    for variant in ("averaged", "fixed"):
        for paradigm, mae in (("supervised", supervised_mae), ("simclr", simclr_mae),
                              ("random_labels", simclr_mae + 0.005),
                              ("random_labels_aug", simclr_mae - 0.005)):  # fmt: skip
            if variant == "fixed" and paradigm == "simclr":
                mae += 0.1
            rows.append({"paradigm": paradigm, "variant": variant, "null": "binomial",
                         "target_p": 0.5, "epoch": 3.0, "mean_p": 0.5, "reached": reached,
                         "mae": mae, "mae_sd": 0.01})  # fmt: skip
    return rows


def profiles_summary(**fields) -> dict:
    summary = {"procedure": "paper", "seeds": 2, "tracked_images": 16, "augmentations": 2,
               "targets": [0.5], "tracking_share": 0.1, "paradigms": {},
               "alignment": alignment_rows(0.2, 0.1), "headlines": ["a profiles headline"]}
    return ProfilesSummary.model_validate(summary | fields).model_dump(mode="json")


def sslmem_summary(**fields) -> dict:
    summary = {"center": "plain", "centers": ["plain"], "tap": "output",
               "mean_score": {"plain": {"S_C": 0.2, "S_S": 0.1}},
               "ttest_candidates_vs_shared": {"plain": {"statistic": 2.9, "p_value": 0.002,
                                                        "effect_size": 0.25}},
               "planted_auroc": {}, "n": {"S_C": 10, "S_S": 10}, "classes": ["a", "b", "c"],
               "headlines": ["an sslmem headline"]}  # fmt: skip
    return SSLMemSummary.model_validate(summary | fields).model_dump(mode="json")


def benign_summary(verdict_with_da: str = "benign", verdict_without: str = "malign",
                   **fields) -> dict:  # fmt: skip
    row = {"train_acc_random": 0.99, "probe_acc": 0.8, "init_probe_acc": 0.75}
    summary = {
        "num_classes": 10, "chance": 0.1,
        "verdicts": [row | {"setting": "random+da", "verdict": verdict_with_da},
                     row | {"setting": "random", "verdict": verdict_without}],
        "clean_knn_final": {"random": {"embedding": 0.70, "output": 0.40}},
        "noisy_knn_final": {}, "epochs": {"random": 4.0},
        "invariance_embedding_final": {"random+da": 0.2, "random": 0.6},
        "toy": {"test_knn_most": 0.8, "test_knn_fewest": 0.6, "most_augmentations": 16,
                "fewest_augmentations": 1},
    }  # fmt: skip
    return BenignSummary.model_validate(summary | fields).model_dump(mode="json")


def removal_summary(experiment: str, difference: float, p: float, mde: float | None = 0.005,
                    pairs: int = 8) -> dict:  # fmt: skip
    pooled = {"k": "all", "downstream": "all", "pairs": pairs, "mean_top": 0.7 + difference,
              "mean_random": 0.7, "difference": difference, "p_value": p, "mde": mde}  # fmt: skip
    per_k = pooled | {"k": "50", "p_value": 0.5}
    summary = {"ranking_reliability": 0.8, "pairs": 5, "downstream": ["fmnist-mini"],
               "skipped": [], experiment: [per_k, pooled]}  # fmt: skip
    return RemovalSummary.model_validate(summary).model_dump(mode="json")


def privacy_summary(rows: list[dict]) -> dict:
    return PrivacySummary.model_validate({"privacy": rows}).model_dump(mode="json")


def dejavu_summary(rows: list[dict]) -> dict:
    summary = {"table4": rows, "per_seed": [], "sizes": {}, "classes": []}
    return DejaVuSummary.model_validate(summary).model_dump(mode="json")


def demo_results():
    """``scripts/demo_results.py`` loaded as a module (scripts are no package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "demo_results.py"
    spec = importlib.util.spec_from_file_location("demo_results", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
