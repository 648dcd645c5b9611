import json

import pandas as pd
import pytest

from mnemoscope import store as store_module
from mnemoscope.reports.html import render_report
from mnemoscope.reports.timings import describe, time_breakdown
from mnemoscope.store import RunDir


@pytest.fixture
def clock(monkeypatch):
    """A fake ``time.perf_counter`` the test moves by hand."""
    now = [100.0]
    monkeypatch.setattr(store_module.time, "perf_counter", lambda: now[0])
    return now


def test_a_phase_inside_another_counts_only_in_its_own(tmp_path, clock):
    run = RunDir(tmp_path / "run")
    run.update_meta(started="2026-01-01T00:00:00+00:00")
    with run.timed("comparison"):
        clock[0] += 5
        with run.timed("training"):
            clock[0] += 30
        clock[0] += 2
    with run.timed("training"):  # timed twice: adds up
        clock[0] += 10
    assert run.read_meta()["timings"] == {"comparison": 7.0, "training": 40.0}


def test_a_failed_block_records_nothing(tmp_path, clock):
    run = RunDir(tmp_path / "run")
    with pytest.raises(ValueError), run.timed("scoring"):
        raise ValueError("boom")
    with run.timed("figures"):
        clock[0] += 1
    assert run.read_meta()["timings"] == {"figures": 1.0}


def _training(path, started: str, hooks: dict, measure_seconds: list[float], probe: float):
    run = RunDir(path)
    run.update_meta(started=started, timings={"probe": probe} if probe else {})
    (path / "spec.json").write_text(json.dumps({"config": {}, "hooks": hooks}))
    run.save_table("metrics", pd.DataFrame({"epoch": range(1, len(measure_seconds) + 1),
                                            "measure_seconds": measure_seconds}))  # fmt: skip


def test_training_is_split_into_steps_hooks_and_probes_of_the_runs_this_run_trained(tmp_path):
    study = tmp_path / "study"
    meta = {"started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:02:00+00:00",
            "timings": {"training": 80.0, "scoring": 20.0, "figures": 5.0}}  # fmt: skip
    hook = {"recognition": {"kind": "x"}}
    _training(study / "runs" / "a", "2026-01-01T00:00:05+00:00", hook, [4.0, 6.0], 3.0)
    _training(study / "runs" / "b", "2026-01-01T00:00:40+00:00", hook, [5.0, 5.0], 0.0)
    # reused from an earlier run: its time was not spent now
    _training(study / "runs" / "old", "2025-12-31T00:00:00+00:00", hook, [99.0], 99.0)
    breakdown = dict(time_breakdown(study, meta))
    assert breakdown == pytest.approx({
        "training steps": 80.0 - 20.0 - 3.0, "measurement during training (recognition)": 20.0,
        "probes after training": 3.0, "scoring": 20.0, "figures": 5.0,
        "other": 120.0 - 80.0 - 20.0 - 5.0,
    })  # fmt: skip
    assert list(dict(time_breakdown(study, meta))) [0] == "training steps"  # largest first
    line = describe(time_breakdown(study, meta))
    assert "training steps 57 s (48 %)" in line and "other 15 s (12 %)" in line


def test_a_run_without_timings_has_no_breakdown(tmp_path):
    assert time_breakdown(tmp_path, {"started": "2026-01-01T00:00:00+00:00"}) == []


def test_report_run_times_say_where_the_time_went(tmp_path):
    from tests.reports.conftest import write_profiles_study

    run = write_profiles_study(tmp_path / "profiles")
    run.update_meta(timings={"training": 70.0, "figures": 20.0})
    page = render_report(run.path)
    times = page[page.index('id="run-times"'):]
    assert "training 70 s (70 %)" in times and "figures 20 s (20 %)" in times
    assert "other 10 s (10 %)" in times  # the run lasted 100 s
