"""``run``: does memorization matter? Removal (paper 002 fig. 3) and coreset (table 17).

1. Rank: the SSLMem study ``config.ranking_study()`` runs into ``OUT/sslmem`` (a finished one
   with the same config is reused as is); its f encoders and its scores of the candidates S_C
   (eq. 2, ``pairs: auto`` draws view pairs until the per-image score is reliable) give the ranking,
   and its split-half reliability is reported with the results.
2. Select (``selection``): per k, the top-k candidates and ``draws`` random k.
3. Retrain f's training config on S_S + S_C without them (removal), or on them alone
   (coreset), at every seed of the SSLMem study, under ``OUT/runs`` (reused when finished).
   The run's ``data.subset`` says what it trained on; ``tables/sslmem_removal_ids`` which ids
   each selection holds.
4. Probe every encoder, and f itself (k = 0 / all), on each downstream dataset
   (``training.downstream``), and test top against random per k, paired by seed (``tables``).
5. Tables, figures (``figures``) and ``summary.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mnemoscope import data, studies
from mnemoscope.store import RunDir, json_safe
from mnemoscope.studies.frame import Frame
from mnemoscope.studies.removal import selection as chosen
from mnemoscope.studies.removal import tables
from mnemoscope.studies.removal.config import Config
from mnemoscope.studies.removal.figures import draw_figures
from mnemoscope.studies.removal.summary import RemovalSummary
from mnemoscope.studies.sslmem import study as sslmem_study
from mnemoscope.studies.sslmem.planted import Planted
from mnemoscope.studies.sslmem.splits import Splits, make_splits
from mnemoscope.training import RunSpec, TrainConfig, TrainResult
from mnemoscope.training.downstream import DownstreamSet, downstream_accuracy, load_downstream

RANKING_DIR = "sslmem"


def run(config: Config, frame: Frame) -> RemovalSummary:
    """Run the study in ``frame``; the ranking study lives in ``OUT/sslmem``."""
    out = frame.path
    # Everything that can refuse the input comes before the first write.
    bundle = data.load(config.data.name, **config.data.options)
    splits = make_splits(bundle, config.sslmem.splits)
    available = len(splits.candidates)
    chosen.check_ks(config.removal.ks, available, "removal")
    chosen.check_ks(config.coreset.ks, available, "coreset")
    downstream, skipped = load_downstream(config.downstream_sets(), bundle)
    if not downstream:
        raise ValueError(f"no downstream dataset is available here: {'; '.join(skipped)}")
    run_dir = frame.start(config.sslmem.train.device)

    ranking_dir = rank(config, out / RANKING_DIR, frame)
    ranking = chosen.candidate_ranking(ranking_dir.load_table("sslmem_scores"))
    reliable = ranking_dir.load_table("sslmem_reliability").iloc[[0]].reset_index(drop=True)
    run_dir.save_table("sslmem_removal_ranking", ranking)
    run_dir.save_table("sslmem_removal_reliability", reliable)
    selections = chosen.select(ranking, chosen.REMOVAL, config.removal.ks,
                               config.removal.draws, config.removal.seed)  # fmt: skip
    selections += chosen.select(ranking, chosen.CORESET, config.coreset.ks,
                                config.coreset.draws, config.coreset.seed)  # fmt: skip
    run_dir.save_table("sslmem_removal_ids", chosen.selections_table(selections, ranking))

    f_specs = [RunSpec(f_config(config, bundle, splits, seed)) for seed in config.sslmem.seeds]
    f_runs = frame.train(f_specs, bundle=bundle, root=out / RANKING_DIR / "runs", advance=False)
    planned = [(s, seed, retrain_config(s, bundle, f_run.config))
               for s in selections for seed, f_run in zip(config.sslmem.seeds, f_runs,
                                                          strict=True)]  # fmt: skip
    frame.steps(len({RunSpec(c).run_name for *_, c in planned}), "retrainings")
    results = frame.train([RunSpec(c) for *_, c in planned], bundle=bundle)

    probed: dict[str, pd.DataFrame] = {}

    def accuracy(result: TrainResult) -> pd.DataFrame:
        name = result.run.path.name
        if name not in probed:  # a run chosen twice (coreset k = |S_C|) is probed once
            network = result.model("final")
            probed[name] = downstream_accuracy(network, downstream, tap=config.tap,
                                               probe=config.probe, device=frame.device)  # fmt: skip
        return probed[name]

    runs = runs_table(planned, results, f_runs, config.sslmem.seeds)
    run_dir.save_table("sslmem_removal_runs", runs)
    outputs = {}
    for experiment in (chosen.REMOVAL, chosen.CORESET):
        table = accuracy_table(experiment, planned, results, f_runs, config.sslmem.seeds,
                               accuracy)  # fmt: skip
        if table is None:
            continue
        name = f"sslmem_{experiment}"
        run_dir.save_table(name, table)
        tests = tables.paired_tests(table, experiment, config.alpha)
        run_dir.save_table(f"{name}_tests", tests)
        outputs[experiment] = (table, tests)
    draw_figures(run_dir)
    return study_summary(outputs, reliable, skipped, downstream)


def rank(config: Config, out: Path, frame: Frame) -> RunDir:
    """The SSLMem study that ranks S_C: reused when it finished with this very config."""
    ranking_dir = RunDir(out)
    study = config.ranking_study()
    if ranking_dir.is_complete and ranking_dir.read_config() == study.model_dump(mode="json"):
        return ranking_dir
    return studies.run(study, out, progress=frame.display, quiet=frame.quiet)


# --- training configs ------------------------------------------------------------------------


def f_config(config: Config, bundle: data.DatasetBundle, splits: Splits, seed: int) -> TrainConfig:
    """The SSLMem study's f of ``seed`` (S_S + S_C): the very run it trained."""
    return sslmem_study.encoder_config(config.ranking_study(), splits, Planted(bundle), seed, "f")


def retrain_config(selection: chosen.Selection, bundle: data.DatasetBundle,
                   f: TrainConfig) -> TrainConfig:  # fmt: skip
    """f's config on the training set the selection leaves, without f's extra checkpoints;
    a coreset smaller than f's batch trains with batches of all of it (the engine refuses a
    batch larger than the data)."""
    base = f.model_dump(mode="json")
    subset = chosen.training_positions(selection, bundle.train, f.data.subset)
    base["data"]["subset"] = subset
    base["save_epochs"] = []
    base["batch_size"] = min(f.batch_size, len(subset))
    return TrainConfig.model_validate(base)


def study_specs(config: Config, bundle: data.DatasetBundle) -> list[RunSpec]:
    """The runs known before the ranking exists: f (S_S + S_C) at every seed and the random
    selections' retrainings. The top-k retrainings depend on the scores; each costs what the
    random-k retraining of its k costs."""
    splits = make_splits(bundle, config.sslmem.splits)
    ranking = pd.DataFrame({"id": bundle.train.ids[splits.candidates].numpy()})
    specs = [RunSpec(f_config(config, bundle, splits, seed)) for seed in config.sslmem.seeds]
    randoms = [s for s in chosen.select(ranking, chosen.REMOVAL, config.removal.ks,
                                        config.removal.draws, config.removal.seed)
               + chosen.select(ranking, chosen.CORESET, config.coreset.ks,
                               config.coreset.draws, config.coreset.seed)
               if s.chosen == "random"]  # fmt: skip
    return specs + [RunSpec(retrain_config(s, bundle, f.config)) for s in randoms for f in specs]


# --- tables ----------------------------------------------------------------------------------


def runs_table(planned: list, results: list[TrainResult], f_runs: list[TrainResult],
               seeds: list[int]) -> pd.DataFrame:  # fmt: skip
    """One row per training: experiment, chosen, k, draw, seed, run, train_images."""
    rows = [{"experiment": "f", "chosen": "none", "k": 0, "draw": 0, "seed": seed,
             "run": f"{RANKING_DIR}/runs/{r.run.path.name}",
             "train_images": len(r.config.data.subset)}
            for seed, r in zip(seeds, f_runs, strict=True)]  # fmt: skip
    rows += [{"experiment": s.experiment, "chosen": s.chosen, "k": s.k, "draw": s.draw,
              "seed": seed, "run": f"runs/{r.run.path.name}",
              "train_images": len(r.config.data.subset)}
             for (s, seed, _), r in zip(planned, results, strict=True)]  # fmt: skip
    return pd.DataFrame(rows)


def accuracy_table(
    experiment: str,
    planned: list,
    results: list[TrainResult],
    f_runs: list[TrainResult],
    seeds: list[int],
    accuracy: Callable[[TrainResult], pd.DataFrame],
) -> pd.DataFrame | None:
    """k, removed (or kept), draw, seed, downstream, accuracy, run: the experiment's
    retrainings, and f itself (removal: k = 0, ``none``; coreset: k = f's size, ``all``)."""
    column = tables.VERDICTS[experiment][0]
    mine = [(s, seed, r) for (s, seed, _), r in zip(planned, results, strict=True)
            if s.experiment == experiment]  # fmt: skip
    if not mine:
        return None
    reference = "none" if experiment == chosen.REMOVAL else "all"
    frames = []
    for seed, f_run in zip(seeds, f_runs, strict=True):
        k = 0 if experiment == chosen.REMOVAL else len(f_run.config.data.subset)
        frames.append(_rows(accuracy(f_run), k, reference, 0, seed, f_run, column))
    for selection, seed, result in mine:
        frames.append(_rows(accuracy(result), selection.k, selection.chosen, selection.draw,
                            seed, result, column))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _rows(probed: pd.DataFrame, k: int, which: str, draw: int, seed: int, result: TrainResult,
          column: str) -> pd.DataFrame:  # fmt: skip
    return pd.DataFrame({"k": k, column: which, "draw": draw, "seed": seed,
                         "downstream": probed["downstream"], "accuracy": probed["accuracy"],
                         "run": result.run.path.name})  # fmt: skip


def study_summary(outputs: dict, reliable: pd.DataFrame, skipped: list[str],
                  downstream: list[DownstreamSet]) -> RemovalSummary:  # fmt: skip
    """``summary.json``: the ranking's reliability, each experiment's tests and headlines."""
    row = reliable.iloc[0]
    lines = [
        f"ranking of S_C by SSLMem (tap {row['tap']}, {int(row['pairs'])} view pairs): "
        f"split-half reliability {row['reliability']:.2f} over {int(row['n'])} candidates"
    ]
    numbers = {"ranking_reliability": float(row["reliability"]), "pairs": int(row["pairs"]),
               "downstream": [d.label for d in downstream], "skipped": skipped}  # fmt: skip
    for experiment, (table, tests) in outputs.items():
        column = tables.VERDICTS[experiment][0]
        base = table[table[column] == ("none" if experiment == chosen.REMOVAL else "all")]
        lines += tables.headlines(tests, experiment, float(base["accuracy"].mean()))
        numbers[experiment] = tests.to_dict(orient="records")
    numbers["headlines"] = lines + skipped
    return RemovalSummary.model_validate(json_safe(numbers))
