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


def _training(path, started: str, hooks: dict, seconds, measure_seconds, probe: float):
    run = RunDir(path)
    run.update_meta(started=started, timings={"probe": probe} if probe else {})
    (path / "spec.json").write_text(json.dumps({"config": {}, "hooks": hooks}))
    run.save_table("metrics", pd.DataFrame({"epoch": range(1, len(seconds) + 1),
                                            "seconds": seconds,
                                            "measure_seconds": measure_seconds}))  # fmt: skip


def test_training_wall_is_split_as_the_runs_this_run_trained_spent_it(tmp_path):
    study = tmp_path / "study"
    meta = {"started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:02:00+00:00",
            "timings": {"training": 80.0, "scoring": 20.0, "figures": 5.0}}  # fmt: skip
    hook = {"recognition": {"kind": "x"}}
    # 100 s of work in all: 60 s of steps, 30 s of hooks, 10 s of probes
    _training(study / "runs" / "a", "2026-01-01T00:00:05+00:00", hook, [20, 25], [5, 10], 4.0)
    _training(study / "runs" / "b", "2026-01-01T00:00:40+00:00", hook, [25, 20], [10, 5], 6.0)
    # reused from an earlier run: its time was not spent now
    _training(study / "runs" / "old", "2025-12-31T00:00:00+00:00", hook, [99], [50], 99.0)
    (study / "runs" / "unfinished").mkdir()
    breakdown = dict(time_breakdown(study, meta))
    assert breakdown == pytest.approx({
        "training steps": 48.0, "measurement during training (recognition)": 24.0,
        "probes after training": 8.0, "scoring": 20.0, "figures": 5.0, "other": 15.0,
    })  # fmt: skip
    assert next(iter(breakdown)) == "training steps"  # largest first
    line = describe(time_breakdown(study, meta))
    assert "training steps 48 s (40 %)" in line and "other 15 s (12 %)" in line


def test_trainings_without_hooks_or_probes_leave_training_whole(tmp_path):
    study = tmp_path / "study"
    meta = {"started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:01:00+00:00",
            "timings": {"training": 50.0}}  # fmt: skip
    _training(study / "runs" / "a", "2026-01-01T00:00:01+00:00", {}, [30], [0], 0.0)
    assert dict(time_breakdown(study, meta)) == pytest.approx({"training": 50.0, "other": 10.0})


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
