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
from tests.conftest import profiles_summary, sslmem_summary  # noqa: E402

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
RAW_MARKER = 0.987654321  # a value only the per-image table holds


def study_config(name: str, **changes) -> dict:
    """A valid config of study ``name``: its packaged quick config with ``changes`` laid over
    (one level deep), as its run would store it."""
    raw = packaged_config(studies.get(name).quick_config)
    for key, value in changes.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) else value
    return studies.load_config(raw).model_dump(mode="json")


@pytest.fixture
def study_dir(tmp_path):
    """A finished-looking profiles run directory with hostile text in its data."""
    run = RunDir(tmp_path / "demo" / "profiles")
    config = study_config("profiles", seeds=10, tracking={"size": 128, "augmentations": 4},
                          data={"options": {"note": HOSTILE}})  # fmt: skip
    run.write_config(config)
    run.update_meta(started="2026-01-01T00:00:00+00:00", finished="2026-01-01T00:01:40+00:00",
                    environment={"device": "cpu", "versions": {"torch": "2.x"}})  # fmt: skip
    for name in ("fig1_profiles", "fig2_binomial"):
        figure, axis = plt.subplots(figsize=(3, 2))
        axis.plot([0, 1], [0, 1])
        run.save_figure(name, figure)
        plt.close(figure)
    run.save_table("classes", pd.DataFrame({"class": [HOSTILE, "Bag"], "p": [0.25, 0.5]}))
    run.save_table("recognition", pd.DataFrame({"id": [1, 2], "p": [RAW_MARKER, 0.5]}))
    summary = profiles_summary(headlines=[f"class {HOSTILE} is easy"])
    (run.path / "summary.json").write_text(json.dumps(summary))
    run.mark_complete()
    return run.path


@pytest.fixture
def sslmem_dir(tmp_path):
    """An sslmem run directory with scores of 12 candidates (two planted) and their images."""
    run = RunDir(tmp_path / "demo" / "sslmem")
    run.write_config(study_config("sslmem", seeds=[0, 1], splits={"candidates": 12}))
    kinds = ["ordinary"] * 10 + ["noise", "noise"]
    scores = pd.DataFrame({
        "id": np.arange(12), "subset": "S_C", "kind": kinds, "label": np.arange(12) % 3,
        "score_norm": np.linspace(1, 0, 12),  # the planted images rank last
    })  # fmt: skip
    run.save_table("sslmem_scores", scores)
    images = np.random.default_rng(0).integers(0, 255, (12, 1, 8, 8), dtype=np.uint8)
    run.save_array("candidate_images", images)
    figure, axis = plt.subplots(figsize=(3, 2))
    run.save_figure("sslmem_fig1_most_memorized", figure)  # replaced by the page's gallery
    plt.close(figure)
    summary = sslmem_summary(classes=["T-shirt", "Trouser", HOSTILE],
                             planted_auroc={"noise": 0.1}, headlines=["a headline"])
    (run.path / "summary.json").write_text(json.dumps(summary))
    run.mark_complete()
    return run.path
