"""The privacy audit (issue 28): its pool and config on constructed inputs, its claims on
constructed summaries, and the two cases that show the audit can fail: on the quick config,
DP-SGD with its noise never yields an empirical epsilon above the accountant's (over seeds),
and DP-SGD whose noise is secretly switched off (``training.privacy.ZERO_NOISE_ENV``) does.
The bound itself is tested in tests/analysis/test_privacy_audit.py; the registry's contract
(specs, claims measured, captions, report, plan) in test_registry.py."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from mnemoscope import data, studies
from mnemoscope.analysis.claims import Measured, NotMeasured
from mnemoscope.analysis.membership import held_out_scores
from mnemoscope.analysis.privacy_audit import epsilon_lower_bound
from mnemoscope.config_file import packaged_config
from mnemoscope.reports import render_report
from mnemoscope.store import RunDir
from mnemoscope.studies.atlas.pool import model_subset, pair_groups
from mnemoscope.studies.privacy_audit import Config
from mnemoscope.studies.privacy_audit.claims import canaries_exposed_without_dp, guarantee_holds
from mnemoscope.studies.privacy_audit.pool import AuditRecipe, make_layout, memberships
from mnemoscope.studies.privacy_audit.report import audit_figure
from mnemoscope.studies.privacy_audit.study import audit_row, point_epsilon, study_specs
from mnemoscope.studies.privacy_audit.summary import AuditSummary
from mnemoscope.training.privacy import ZERO_NOISE_ENV, applied_noise_multiplier

QUICK = packaged_config("privacy-audit-quick")


def config_with(**changes) -> Config:
    return Config.model_validate({**QUICK, **changes})


def seeded(seed: int, **changes) -> Config:
    """The quick config with every draw moved by ``seed``: the canaries, the shared images and
    the halves, the models' seeds and the bound's split."""
    return config_with(
        pool={**QUICK["pool"], "seed": seed}, canaries={**QUICK["canaries"], "seed": seed},
        train={**QUICK["train"], "seed": 100 * seed}, audit={**QUICK["audit"], "seed": seed},
        **changes,
    )  # fmt: skip


@pytest.fixture(scope="module")
def fmnist():
    return data.load("fmnist-mini")


# -- the pool and the config ----------------------------------------------------------------------


def test_canaries_are_the_candidates_and_every_model_sees_the_shared_images(fmnist):
    config = config_with(canaries={"kinds": ["noise", "mislabeled"], "per_kind": 6, "seed": 2})
    layout = make_layout(fmnist, config.pool, config.canaries)
    assert len(layout.shared) == config.pool.shared
    assert list(layout.kind) == ["noise"] * 6 + ["mislabeled"] * 6  # no ordinary candidate
    mislabeled = layout.kind == "mislabeled"
    assert (layout.labels.numpy()[mislabeled] != layout.true_label[mislabeled]).all()
    originals = layout.source[mislabeled]
    assert not set(originals) & set(layout.shared.tolist())  # used nowhere else
    inside = memberships(layout.kind, config.pool, ["supervised"])["supervised"]
    assert (inside.sum(axis=0) == config.pool.models // 2).all()
    for k in range(config.pool.models):
        subset = set(model_subset(layout, inside, k))
        assert set(layout.shared.tolist()) <= subset
        assert subset - set(layout.shared.tolist()) == set(layout.candidates[inside[k]].tolist())
    again = make_layout(fmnist, config.pool, config.canaries)
    assert np.array_equal(again.images.numpy(), layout.images.numpy())  # seeded


def test_every_pool_of_a_method_shares_its_halves_and_raising_k_keeps_the_runs(fmnist):
    config = config_with()
    specs = study_specs(config, fmnist)
    assert len(specs) == len(config.epsilons) * config.pool.models
    private, plain = specs[: config.pool.models], specs[config.pool.models :]
    for a, b in zip(private, plain, strict=True):  # the same images, the noise apart
        assert a.config.data.subset == b.config.data.subset and a.config.seed == b.config.seed
        assert a.config.privacy is not None and b.config.privacy is None
    more = study_specs(config_with(pool={**QUICK["pool"], "models": 10}), fmnist)
    assert {s.run_name for s in specs} < {s.run_name for s in more}
    assert "models" not in AuditRecipe(pool=config.pool, canaries=config.canaries).describe()[
        "pool"]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pool": {"models": 7}}, "pool.models = 7 is odd"),
        ({"pool": {"models": 4}}, "pool.models = 4: LiRA .* at least 6"),
        ({"epsilons": [math.inf]}, "no finite target epsilon"),
        ({"epsilons": [0, 1]}, r"epsilons \[0.0\] are not > 0"),
        ({"epsilons": [1, 1]}, "epsilons repeat"),
        ({"dp": {"epsilon": 3}}, "dp.epsilon is set per pool"),
        ({"train": {**QUICK["train"], "privacy": {"epsilon": 3}}}, "train.privacy"),
        ({"methods": [{"name": "simclr", "train": {"objective": {"name": "simclr"}}}]},
         "simclr"),
        ({"methods": [{"name": "rl", "train": {"objective": {"name": "random_labels"}}}]},
         "random_labels"),
        ({"methods": [{"name": "mae", "train": {"objective": {"name": "mae"}, "model": {
            "name": "vit-tiny", "options": {"patch_size": 7}}}}],
          "canaries": {"kinds": ["mislabeled"]}}, "holds mislabeled images only"),
        ({"measure": {"pairs": "auto"}}, "measure.pairs = auto"),
        ({"canaries": {"kinds": ["inverted"]}}, "inverted"),
    ],
)  # fmt: skip
def test_config_refuses_what_the_audit_cannot_do_naming_the_value(changes, message):
    with pytest.raises(ValidationError, match=message):
        config_with(**changes)


def test_an_unreachable_epsilon_is_refused_before_the_first_write(tmp_path):
    config = config_with(epsilons=[0.001])
    with pytest.raises(ValueError, match=r"privacy.epsilon 0.001 cannot be reached"):
        studies.run(config, tmp_path / "out", quiet=True)
    assert not (tmp_path / "out" / "config.yaml").exists()


def test_the_zero_noise_switch_is_off_unless_the_environment_sets_it(monkeypatch):
    monkeypatch.delenv(ZERO_NOISE_ENV, raising=False)
    assert applied_noise_multiplier(2.5) == 2.5
    monkeypatch.setenv(ZERO_NOISE_ENV, "1")
    assert applied_noise_multiplier(2.5) == 0.0
    assert "zero" not in json.dumps(Config.model_json_schema()).lower()  # no config key


def test_a_run_trained_without_its_noise_never_shares_a_directory_with_an_honest_one(
    monkeypatch,
):
    from mnemoscope.training import RunSpec, TrainConfig

    monkeypatch.delenv(ZERO_NOISE_ENV, raising=False)
    private = TrainConfig(objective={"name": "supervised"}, epochs=1,
                          privacy={"epsilon": 8.0, "delta": 1e-3})  # fmt: skip
    plain = TrainConfig(objective={"name": "supervised"}, epochs=1)
    honest = RunSpec(private).run_name
    monkeypatch.setenv(ZERO_NOISE_ENV, "1")
    assert RunSpec(private).run_name == honest + "-zero-noise"
    assert RunSpec(plain).run_name == RunSpec(plain).run_name.removesuffix("-zero-noise")


def test_point_epsilon_is_the_plug_in_value_at_the_threshold():
    assert point_epsilon(0.6, 0.1, 0.0) == pytest.approx(math.log(6))
    assert point_epsilon(0.6, 0.1, 0.1) == pytest.approx(math.log(5))
    assert point_epsilon(0.5, 0.0, 0.0) == math.inf and point_epsilon(0.01, 0.1, 0.05) == 0.0


def test_a_pool_row_bounds_the_attack_on_constructed_statistics(fmnist, tmp_path):
    config = config_with()
    layout = make_layout(fmnist, config.pool, config.canaries)
    inside = memberships(layout.kind, config.pool, ["supervised"])["supervised"]
    record = {"epsilon": 0.99, "delta": 0.0125, "noise_multiplier": 3.0}
    runs = []
    for k in range(config.pool.models):
        run = RunDir(tmp_path / f"run-{k}")
        run.update_meta(privacy=record)
        runs.append(run)
    noise = np.random.default_rng(0).standard_normal(inside.shape)
    exposed = audit_row(config, "supervised", 1.0, noise + 8 * inside, inside, layout, runs)
    assert exposed["epsilon_accountant"] == 0.99 and exposed["delta"] == 0.0125
    assert exposed["epsilon_lower"] > 0.99 and exposed["exceeds"]  # IN far above OUT
    assert exposed["trials"] == inside.size and exposed["tpr_at_0.1%"] == 1.0
    hidden = audit_row(config, "supervised", 1.0, noise, inside, layout, runs)
    assert hidden["epsilon_lower"] < exposed["epsilon_lower"] and not hidden["exceeds"]
    plain = audit_row(config, "supervised", math.inf, noise, inside, layout, [])
    n = config.pool.shared + config.canaries.per_kind // 2
    assert plain["epsilon_accountant"] == math.inf and plain["delta"] == pytest.approx(1 / n)


# -- the claims and the figure on constructed summaries -------------------------------------------


def summary_of(rows: list[dict]) -> AuditSummary:
    base = {"delta": 0.01, "epsilon_point": None, "confidence": 0.95, "auc": 0.9,
            "tpr_at_1%": 0.2}  # fmt: skip
    return AuditSummary.model_validate(
        {"rows": [{**base, **row} for row in rows], "models": 8, "canaries": 32,
         "variant": "online-fixed"})  # fmt: skip


def row(pool: str, target: float | None, accountant: float | None, lower: float) -> dict:
    return {"pool": pool, "method": "supervised", "epsilon_target": target,
            "epsilon_accountant": accountant, "epsilon_lower": lower,
            "exceeds": accountant is not None and lower > accountant}  # fmt: skip


def test_the_guarantee_claim_fails_when_any_bound_passes_its_accountant():
    holds = guarantee_holds(summary_of([row("a", 1, 0.99, 0.3), row("b", 8, 7.9, 2.0)]))
    assert isinstance(holds, Measured) and holds.verdict == "reproduced"
    assert holds.effect == pytest.approx(0.69)  # the tightest pool
    broken = guarantee_holds(summary_of([row("a", 1, 0.99, 2.1), row("b", 8, 7.9, 2.0)]))
    assert broken.verdict == "opposite" and broken.effect < 0 and "(a)" in broken.interval
    assert isinstance(guarantee_holds(summary_of([row("c", None, None, 2.0)])), NotMeasured)


def test_the_exposure_claim_needs_a_positive_bound_without_dp():
    found = canaries_exposed_without_dp(summary_of([row("a", 1, 0.99, 0.0),
                                                    row("c", None, None, 1.5)]))  # fmt: skip
    assert found.verdict == "reproduced" and found.effect == 1.5
    weak = canaries_exposed_without_dp(summary_of([row("c", None, None, 0.0)]))
    assert weak.verdict == "undecided"
    missing = canaries_exposed_without_dp(summary_of([row("a", 1, 0.99, 0.0)]))
    assert isinstance(missing, NotMeasured) and ".inf" in missing.reason


def test_the_figure_draws_every_pool_with_the_pool_without_dp_at_the_right():
    table = pd.DataFrame({"method": ["supervised", "supervised", "mae"],
                          "epsilon_accountant": [0.99, math.inf, 0.98],
                          "epsilon_lower": [0.1, 2.0, 0.0]})  # fmt: skip
    axis = audit_figure(table).axes[0]
    assert [label.get_text() for label in axis.get_xticklabels()][-1] == "inf"
    assert len(axis.get_lines()) == 3  # the diagonal and one line per method


# -- the must-fail cases on the quick config -------------------------------------------------------


def audited(out) -> pd.DataFrame:
    return RunDir(out).load_table("privacy_audit")


@pytest.mark.slow
def test_the_quick_run_stores_the_attack_it_bounds(quick_runs):
    out = quick_runs("privacy-audit")
    run = RunDir(out)
    config = Config.model_validate(packaged_config("privacy-audit-quick"))
    table = audited(out)
    assert list(table["pool"]) == ["supervised-epsilon-1", "supervised-epsilon-inf"]
    inside = run.load_array("supervised-inside", mmap=False).astype(bool)
    for record in table.itertuples():
        values = run.load_array(f"{record.pool}-statistic", mmap=False)
        scores = held_out_scores(values, inside, variant="online", fixed_variance=True,
                                 groups=pair_groups(inside))  # fmt: skip
        found = epsilon_lower_bound(scores[inside], scores[~inside], delta=record.delta,
                                    seed=config.audit.seed)  # fmt: skip
        assert record.epsilon_lower == pytest.approx(found.epsilon)
        assert record.trials == inside.size and record.models == config.pool.models
    private = table.iloc[0]
    assert private.noise_applied == private.noise_multiplier > 0
    n = config.pool.shared + config.canaries.per_kind // 2
    assert private.delta == pytest.approx(1 / n) == table.iloc[1].delta
    meta = json.loads(next((out / "runs").glob("supervised-*")).joinpath("meta.json").read_text())
    assert "noise_multiplier_applied" not in meta.get("privacy", {})
    assert "What the audit found" in render_report(out)


@pytest.mark.slow
def test_correct_noise_never_yields_a_bound_above_the_accountants_epsilon(quick_runs, tmp_path):
    tables = [audited(quick_runs("privacy-audit"))]  # seed 0, shared with the registry's tests
    for seed in (1,):  # a second seed moves every draw; more cost the suite's time budget
        out = studies.run(seeded(seed, epsilons=[1]), tmp_path / f"seed-{seed}", quiet=True).path
        tables.append(audited(out))
    for table in tables:
        private = table[np.isfinite(table["epsilon_accountant"])]
        assert len(private) == 1 and (private["noise_applied"] > 0).all()
        assert (private["epsilon_lower"] <= private["epsilon_accountant"]).all()
        assert not private["exceeds"].any()


@pytest.mark.slow
def test_zero_noise_yields_a_bound_above_the_accountants_epsilon(tmp_path, monkeypatch):
    monkeypatch.setenv(ZERO_NOISE_ENV, "1")
    out = studies.run(config_with(epsilons=[1]), tmp_path / "broken", quiet=True).path
    private = audited(out).iloc[0]
    assert private.noise_applied == 0 < private.noise_multiplier  # the accountant never knew
    assert private.epsilon_lower > private.epsilon_accountant and private.exceeds
    summary = json.loads((out / "summary.json").read_text())
    found = {f.claim.name: f.measured for f in studies.get("privacy-audit").findings(summary)}
    assert found["DP guarantee holds"].verdict == "opposite"


@pytest.mark.slow
def test_an_ssl_method_is_audited_on_its_alignment_loss_and_its_noise_canaries(tmp_path):
    mae = {"name": "mae",
           "train": {"model": {"name": "vit-tiny", "projector_hidden": 32, "output_dim": 32,
                               "options": {"patch_size": 7}},
                     "objective": {"name": "mae", "decoder_dim": 32, "decoder_depth": 1,
                                   "decoder_heads": 2},
                     "augment": None, "epochs": 1, "batch_size": 8}}  # fmt: skip
    config = config_with(methods=[mae], epsilons=[8, math.inf], pool={"models": 6, "shared": 16},
                         canaries={"kinds": ["noise", "mislabeled"], "per_kind": 4},
                         measure={"pairs": 2})  # fmt: skip
    out = studies.run(config, tmp_path / "mae", quiet=True).path
    table = audited(out)
    assert list(table["pool"]) == ["mae-epsilon-8", "mae-epsilon-inf"]
    assert (table["canaries"] == 4).all() and (table["canary_kinds"] == "noise").all()
    assert table.iloc[0].epsilon_lower <= table.iloc[0].epsilon_accountant
    statistic = RunDir(out).load_array("mae-epsilon-8-statistic", mmap=False)
    assert statistic.shape == (6, 8) and np.isfinite(statistic).all() and (statistic >= 0).all()
