import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mnemoscope import studies  # noqa: E402
from mnemoscope.config_file import packaged_config  # noqa: E402
from mnemoscope.store import RunDir  # noqa: E402
from mnemoscope.studies.repeat import (  # noqa: E402
    FINDINGS_TABLE,
    combined_summary,
    seed_config,
    seed_dir,
)
from tests.conftest import alignment_rows, profiles_summary, sslmem_summary  # noqa: E402

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
RAW_MARKER = 0.987654321  # a value only the per-image table holds


def study_config(name: str, **changes) -> dict:
    """A valid config of study ``name``: its packaged quick config with ``changes`` laid over
    (one level deep), as its run would store it."""
    raw = packaged_config(studies.get(name).quick_config)
    for key, value in changes.items():
        raw[key] = {**(raw.get(key) or {}), **value} if isinstance(value, dict) else value
    return studies.load_config(raw).model_dump(mode="json")


def write_profiles_study(path, config: dict | None = None, **summary_fields) -> RunDir:
    """A finished-looking profiles study directory with hostile text in its data."""
    run = RunDir(path)
    run.write_config(config or study_config(
        "profiles", seeds=10, tracking={"size": 128, "augmentations": 4},
        data={"options": {"note": HOSTILE}}))  # fmt: skip
    run.update_meta(started="2026-01-01T00:00:00+00:00", finished="2026-01-01T00:01:40+00:00",
                    environment={"device": "cpu", "versions": {"torch": "2.x"}})  # fmt: skip
    for name in ("fig1_profiles", "fig2_binomial"):
        figure, axis = plt.subplots(figsize=(3, 2))
        axis.plot([0, 1], [0, 1])
        run.save_figure(name, figure)
        plt.close(figure)
    run.save_table("classes", pd.DataFrame({"class": [HOSTILE, "Bag"], "p": [0.25, 0.5]}))
    run.save_table("recognition", pd.DataFrame({"id": [1, 2], "p": [RAW_MARKER, 0.5]}))
    summary = profiles_summary(**{"headlines": [f"class {HOSTILE} is easy"], **summary_fields})
    (run.path / "summary.json").write_text(json.dumps(summary))
    run.mark_complete()
    return run


@pytest.fixture
def study_dir(tmp_path):
    """A finished-looking profiles run directory with hostile text in its data."""
    return write_profiles_study(tmp_path / "demo" / "profiles").path


def write_sslmem_study(path, config: dict | None = None, **summary_fields) -> RunDir:
    """A finished-looking sslmem study directory: scores of 12 candidates (two planted, ranked
    last) and their images, the key figure and the figure the gallery replaces, a summary."""
    run = RunDir(path)
    run.write_config(config or study_config("sslmem", seeds=[0, 1], splits={"candidates": 12}))
    kinds = ["ordinary"] * 10 + ["noise", "noise"]
    scores = pd.DataFrame({
        "id": np.arange(12), "subset": "S_C", "kind": kinds, "label": np.arange(12) % 3,
        "score_norm": np.linspace(1, 0, 12),  # the planted images rank last
    })  # fmt: skip
    run.save_table("sslmem_scores", scores)
    images = np.random.default_rng(0).integers(0, 255, (12, 1, 8, 8), dtype=np.uint8)
    run.save_array("candidate_images", images)
    # a summary table as wide as sslmem_methods: the page must still fit 1280 px
    run.save_table("wide_summary", pd.DataFrame(
        {f"a_long_column_name_{i}": [0.123456789, -1.5e-5] for i in range(16)}))  # fmt: skip
    for name in ("sslmem_fig1_most_memorized", "sslmem_fig2c_distributions"):
        figure, axis = plt.subplots(figsize=(3, 2))
        run.save_figure(name, figure)  # the first is replaced by the page's gallery
        plt.close(figure)
    summary = sslmem_summary(**{"classes": ["T-shirt", "Trouser", HOSTILE],
                                "planted_auroc": {"noise": 0.1}, "headlines": ["a headline"],
                                **summary_fields})  # fmt: skip
    (run.path / "summary.json").write_text(json.dumps(summary))
    run.mark_complete()
    return run


@pytest.fixture
def sslmem_dir(tmp_path):
    """An sslmem run directory with scores of 12 candidates (two planted) and their images."""
    return write_sslmem_study(tmp_path / "demo" / "sslmem").path


REPEATED_SEEDS = (0, 1)


@pytest.fixture
def repeated_demo(tmp_path):
    """A demo directory of two studies repeated over study seeds 0 and 1, as
    ``repeat.run_repeated`` leaves them: sslmem with its figures over the seeds, profiles
    without (its seeds hold no alignment table to draw them from: each seed's key figure leads,
    as for a study that draws none). The seeds' effects differ, so that the combined intervals
    have a width."""
    root = tmp_path / "demo"
    RunDir(root).write_config({"demo": "demo", "studies": ["profiles", "sslmem"]})
    changes = {
        "profiles": (write_profiles_study, {"seeds": 10, "tracking": {"size": 128}}, [
            {"alignment": alignment_rows(0.2, 0.1)}, {"alignment": alignment_rows(0.25, 0.1)}]),
        "sslmem": (write_sslmem_study, {"seeds": [0, 1], "splits": {"candidates": 12}}, [
            {"planted_auroc": {"noise": 0.1}},
            {"planted_auroc": {"noise": 0.3}, "mean_score": {"plain": {"S_C": 0.3, "S_S": 0.1}},
             "ttest_candidates_vs_shared": {"plain": {"statistic": 3.1, "p_value": 0.001,
                                                      "effect_size": 0.4}}}]),
    }  # fmt: skip
    for name, (write, config_changes, fields) in changes.items():
        study = studies.get(name)
        config = study.config.model_validate(
            study_config(name, repeat={"study_seeds": list(REPEATED_SEEDS)}, **config_changes))
        top = RunDir(root / name)
        top.write_config(config.model_dump(mode="json"))
        summaries = {}
        for k, summary_fields in zip(REPEATED_SEEDS, fields, strict=True):
            seed = write(seed_dir(top.path, k), seed_config(config, k).model_dump(mode="json"),
                         **summary_fields)  # fmt: skip
            summaries[k] = json.loads((seed.path / "summary.json").read_text())
        summary, table = combined_summary(study, summaries, config.repeat.confidence)
        top.save_table(FINDINGS_TABLE, table)
        study.combined_figures({k: seed_dir(top.path, k) for k in REPEATED_SEEDS}, top)
        (top.path / "summary.json").write_text(summary.model_dump_json())
        top.mark_complete()
    return root
