import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mnemoscope.store import RunDir  # noqa: E402

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture
def study_dir(tmp_path):
    """A finished-looking study run directory with hostile text in its data."""
    run = RunDir(tmp_path / "demo" / "profiles")
    run.write_config({"study": "profiles", "note": HOSTILE})
    run.update_meta(started="2026-01-01T00:00:00+00:00", finished="2026-01-01T00:01:40+00:00",
                    environment={"device": "cpu", "versions": {"torch": "2.x"}})  # fmt: skip
    for name in ("fig1_profiles", "fig2_binomial"):
        figure, axis = plt.subplots(figsize=(3, 2))
        axis.plot([0, 1], [0, 1])
        run.save_figure(name, figure)
        plt.close(figure)
    run.save_table("classes", pd.DataFrame({"class": [HOSTILE, "Bag"], "p": [0.25, 0.5]}))
    (run.path / "summary.json").write_text(json.dumps({"headlines": [f"class {HOSTILE} is easy"]}))
    run.mark_complete()
    return run.path
