"""The removal and coreset study (paper 002 fig. 3, table 17): selections, retrained subsets,
paired tests, bad input, and one tiny end-to-end run with its report."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from scipy import stats
from statsmodels.stats.power import TTestPower

from mnemoscope import data, studies
from mnemoscope.config_file import read_config
from mnemoscope.reports.html import render_report
from mnemoscope.studies import removal
from mnemoscope.studies.removal import selection, tables
from tests.studies.conftest import TINY_REMOVAL as TINY

ROOT = Path(__file__).parents[3]
CONFIGS = ("sslmem-removal-quick", "sslmem-removal", "sslmem-removal-paper")



@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("removal") / "study"
    studies.run(removal.Config.model_validate(TINY), out, quiet=True)
    return out


@pytest.fixture(scope="module")
def train_ids():
    return data.load("fmnist-mini").train.ids.numpy()


def _table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / "tables" / f"{name}.parquet")


def _trained_ids(out: Path, run: str, ids: np.ndarray) -> set[int]:
    subset = read_config(out / run / "config.yaml")["data"]["subset"]
    return set(ids[subset].tolist())


def _selected(chosen: pd.DataFrame, experiment: str, run) -> set[int]:
    """The ids of the selection a row of ``sslmem_removal_runs`` trained with."""
    mask = (chosen["experiment"] == experiment) & (chosen["chosen"] == run.chosen)
    mask &= (chosen["k"] == run.k) & (chosen["draw"] == run.draw)
    return set(chosen.loc[mask, "id"])


def test_removed_ids_are_absent_from_the_retrained_subset(finished, train_ids):
    chosen, runs = _table(finished, "sslmem_removal_ids"), _table(finished, "sslmem_removal_runs")
    f_runs = runs[runs["experiment"] == "f"].set_index("seed")["run"]
    retrained = runs[runs["experiment"] == "removal"]
    assert len(retrained) == (1 + 2) * 2  # (top + draws) x seeds
    for row in retrained.itertuples():
        removed = _selected(chosen, "removal", row)
        assert len(removed) == row.k
        trained = _trained_ids(finished, row.run, train_ids)
        assert not removed & trained
        # and nothing else changed: f's training set minus exactly the removed ids
        assert trained == _trained_ids(finished, f_runs[row.seed], train_ids) - removed


def test_top_k_are_the_k_highest_scores(finished):
    scores = pd.read_parquet(finished / "sslmem" / "tables" / "sslmem_scores.parquet")
    candidates = scores[(scores["subset"] == "S_C") & (scores["kind"] == "ordinary")]
    score_of = candidates.set_index("id")["score_raw"]
    chosen = _table(finished, "sslmem_removal_ids")
    top = set(chosen[(chosen["experiment"] == "removal") & (chosen["chosen"] == "top")]["id"])
    assert top == set(score_of.nlargest(10).index)
    assert score_of[list(top)].min() >= score_of.drop(list(top)).max()
    randoms = chosen[(chosen["chosen"] == "random") & (chosen["k"] == 10)
                     & (chosen["experiment"] == "removal")]  # fmt: skip
    draws = [set(group["id"]) for _, group in randoms.groupby("draw")]
    assert len(draws) == 2 and draws[0] != draws[1]


def test_coreset_trains_on_exactly_the_chosen_candidates(finished, train_ids):
    chosen, runs = _table(finished, "sslmem_removal_ids"), _table(finished, "sslmem_removal_runs")
    coreset = runs[runs["experiment"] == "coreset"]
    assert sorted(coreset["chosen"].unique()) == ["random", "top"]
    for row in coreset.itertuples():
        kept = _selected(chosen, "coreset", row)
        assert len(kept) == 15 and _trained_ids(finished, row.run, train_ids) == kept


def test_tables_figures_summary_and_report(finished):
    table = _table(finished, "sslmem_removal")
    assert list(table.columns)[:6] == ["k", "removed", "draw", "seed", "downstream", "accuracy"]
    assert set(table["removed"]) == {"none", "top", "random"}
    assert set(table["downstream"]) == {"fmnist<b>mini</b>", "digits"}
    assert table["accuracy"].between(0, 1).all()
    coreset = _table(finished, "sslmem_coreset")
    assert set(coreset["kept"]) == {"all", "top", "random"}
    assert (coreset.loc[coreset["kept"] == "all", "k"] == 60 + 30).all()  # f: S_C + S_S
    tests = _table(finished, "sslmem_removal_tests")
    assert list(tests["k"]) == ["10", "10", "10", "all"]
    assert list(tests["downstream"]) == ["fmnist<b>mini</b>", "digits", "all", "all"]
    assert (tests["mde"] > 0).all() and "minimum detectable" in " ".join(
        yaml.safe_load((finished / "summary.json").read_text())["headlines"])  # fmt: skip
    for name in ("sslmem_removal_fig3", "sslmem_coreset_table17"):
        assert (finished / "figures" / f"{name}.png").exists()
    summary = yaml.safe_load((finished / "summary.json").read_text())
    assert summary["headlines"][0].startswith("ranking of S_C by SSLMem")
    assert any(line.startswith("removal: does removing") for line in summary["headlines"])
    page = render_report(finished)
    assert "sslmem-removal: fmnist-mini, convnet-tiny; 2 seeds; 1 epochs" in page
    assert "Removal of the most memorized" in page and "paper 002, fig. 3" in page
    assert "fmnist<b>mini</b>" not in page and "fmnist&lt;b&gt;mini&lt;/b&gt;" in page


def test_paired_test_direction_and_pairing_by_seed():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(5):
        offset = rng.normal(0, 0.02)  # a per-seed offset that pairing removes
        rows.append({"k": 5, "removed": "top", "draw": 0, "seed": seed, "downstream": "a",
                     "accuracy": 0.70 + offset - 0.01})  # fmt: skip
        for draw in range(2):
            rows.append(
                {
                    "k": 5,
                    "removed": "random",
                    "draw": draw,
                    "seed": seed,
                    "downstream": "a",
                    "accuracy": 0.70 + offset + rng.normal(0, 0.001),
                }
            )
    table = pd.DataFrame(rows)
    result = tables.paired_tests(table, "removal", alpha=0.05)
    row = result[(result["k"] == "5") & (result["downstream"] == "a")].iloc[0]
    random_by_seed = table[table["removed"] == "random"].groupby("seed")["accuracy"].mean()
    top_by_seed = table[table["removed"] == "top"].set_index("seed")["accuracy"]
    expected = stats.ttest_rel(top_by_seed, random_by_seed)
    assert row["pairs"] == 5 and row["statistic"] == pytest.approx(expected.statistic)
    assert row["difference"] < 0 and row["verdict"] == "top-k hurts more"
    # the minimum detectable |top - random| of the paired test (80% power, one-sided 0.05)
    d = TTestPower().solve_power(nobs=5, alpha=0.05, power=0.8, alternative="larger")
    assert row["mde"] == pytest.approx(d * np.std(top_by_seed - random_by_seed, ddof=1), rel=1e-4)
    flipped = table.assign(removed=table["removed"].map({"top": "random", "random": "top"}))
    flipped_row = tables.paired_tests(flipped, "removal", alpha=0.05).iloc[0]
    assert flipped_row["difference"] > 0 and flipped_row["verdict"] == "random-k hurts more"
    coreset = table.rename(columns={"removed": "kept"})
    assert tables.paired_tests(coreset, "coreset", 0.05).iloc[0]["verdict"] == (
        "random-k trains better"
    )
    assert tables.verdict(-0.01, 0.2, "removal", 0.05) == "undecided"
    assert tables.verdict(-0.01, float("nan"), "removal", 0.05) == "undecided"


def test_selection_orders_by_score_and_refuses_too_many():
    scores = pd.DataFrame({"id": [7, 3, 9, 1], "subset": "S_C", "kind": "ordinary",
                           "label": 0, "score_raw": [0.1, 0.5, -0.2, 0.3]})  # fmt: skip
    ranking = selection.candidate_ranking(scores)
    assert ranking["id"].tolist() == [3, 1, 7, 9] and ranking["rank"].tolist() == [1, 2, 3, 4]
    chosen = selection.select(ranking, "removal", [2], draws=1, seed=0)
    assert chosen[0].ids == (3, 1)
    # random draws do not depend on the scores: the same ids in another ranking, same draws
    shuffled = ranking.assign(score=-ranking["score"]).iloc[::-1]
    assert [
        s.ids for s in selection.select(shuffled, "removal", [2], 3, 0) if s.chosen == "random"
    ] == [s.ids for s in selection.select(ranking, "removal", [2], 3, 0) if s.chosen == "random"]
    with pytest.raises(ValueError, match="removal.ks holds 5 but there are only 4 candidates"):
        selection.select(ranking, "removal", [5], draws=1, seed=0)


def test_bad_input_is_refused_before_anything_is_written(tmp_path):
    for ks, message in (([0, 10], "every k must be >= 1"), ([-3], "every k must be >= 1")):
        with pytest.raises(ValidationError, match=message):
            removal.Config.model_validate({**TINY, "removal": {"ks": ks}})
    with pytest.raises(ValidationError, match="unknown downstream dataset 'imagenet9'"):
        removal.Config.model_validate({**TINY, "downstream": [{"name": "imagenet9"}]})
    planted = {**TINY["sslmem"], "planted": {"kinds": ["noise"]}}
    with pytest.raises(ValidationError, match="planted images are not training data"):
        removal.Config.model_validate({**TINY, "sslmem": planted})
    too_many = removal.Config.model_validate({**TINY, "removal": {"ks": [61]}})
    out = tmp_path / "study"
    with pytest.raises(ValueError, match="removal.ks holds 61 but there are only 60 candidates"):
        studies.run(too_many, out, quiet=True)
    assert not (out / "config.yaml").exists()


@pytest.mark.parametrize("name", CONFIGS)
def test_packaged_configs_validate(name):
    text = (ROOT / "src" / "mnemoscope" / "configs" / f"{name}.yaml").read_text()
    config = studies.load_config(yaml.safe_load(text))
    assert config.study == "sslmem-removal"
    assert "Cost" in text.split("study:")[0]


def test_plan_finds_the_finished_f_runs_in_the_nested_sslmem_study(finished, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from mnemoscope.cli import app

    path = tmp_path / "removal.yaml"
    path.write_text(yaml.safe_dump(TINY))
    result = CliRunner().invoke(app, ["plan", str(path), "--out", str(finished), "--no-measure"],
                                env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    listed = int(result.output.split(" runs, ")[0].split()[-1])
    assert listed > 0 and f"{listed} runs, 0 to train" in result.output
