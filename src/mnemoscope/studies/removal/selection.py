"""Which candidates each retraining removes or keeps, and the training set that leaves.

Paper 002, section 4.4: rank the candidates S_C by SSLMem of f (eq. 2, the headline estimate),
then retrain f without the k highest (``top``) or without k drawn uniformly at random
(``random``, draw d of k from ``np.random.default_rng([seed, k, d])``: draws are independent
across k). Appendix D.5 (table 17): train on only those k (coreset). A selection names its
candidates by dataset id; ``training_positions`` turns it into the run's ``data.subset``, so
the run key differs from f's and the removed ids are recorded with the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from mnemoscope import data
from mnemoscope.studies.sslmem.tables import candidate_mask

REMOVAL, CORESET = "removal", "coreset"


@dataclass(frozen=True)
class Selection:
    """``experiment`` (removal | coreset), ``chosen`` (top | random), ``k``, random ``draw``
    (0 for top) and the ``ids`` of the k chosen candidates, most memorized first for top."""

    experiment: str
    chosen: str
    k: int
    draw: int
    ids: tuple[int, ...]


def candidate_ranking(scores: pd.DataFrame) -> pd.DataFrame:
    """The ordinary candidates of an SSLMem ``sslmem_scores`` table, most memorized first:
    id, label, score (raw eq. 2 of the headline estimate), rank (1 = most memorized). Ties keep
    the table's order (stable sort)."""
    candidates = scores.loc[candidate_mask(scores), ["id", "label", "score_raw"]]
    candidates = candidates.rename(columns={"score_raw": "score"}).reset_index(drop=True)
    order = np.argsort(-candidates["score"].to_numpy(), kind="stable")
    ranked = candidates.iloc[order].reset_index(drop=True)
    ranked["rank"] = np.arange(1, len(ranked) + 1)
    return ranked


def check_ks(ks: list[int], available: int, where: str) -> None:
    too_many = [k for k in ks if k > available]
    if too_many:
        raise ValueError(
            f"{where}.ks holds {too_many[0]} but there are only {available} candidates S_C: "
            f"choose k <= {available} (or enlarge sslmem.splits.candidates)"
        )


def select(ranking: pd.DataFrame, experiment: str, ks: list[int], draws: int,
           seed: int) -> list[Selection]:  # fmt: skip
    """For every k, the top-k candidates and ``draws`` random draws of k."""
    check_ks(ks, len(ranking), experiment)
    ids = ranking["id"].to_numpy()
    pool = np.sort(ids)  # random draws from the ids in their own order: blind to the scores
    selections = []
    for k in ks:
        selections.append(Selection(experiment, "top", k, 0, tuple(int(i) for i in ids[:k])))
        for draw in range(draws):
            chosen = np.random.default_rng([seed, k, draw]).choice(len(pool), k, replace=False)
            selections.append(Selection(experiment, "random", k, draw,
                                        tuple(int(i) for i in np.sort(pool[chosen]))))  # fmt: skip
    return selections


def positions_of(train: data.ImageSet, ids: tuple[int, ...]) -> torch.Tensor:
    """Positions in ``train`` of the images with these ids."""
    wanted = torch.tensor(ids, dtype=torch.long)
    found = torch.isin(train.ids, wanted)
    if int(found.sum()) != len(set(ids)):
        raise ValueError(f"{len(set(ids)) - int(found.sum())} selected ids are not in the data")
    return torch.nonzero(found).squeeze(1)


def training_positions(selection: Selection, train: data.ImageSet,
                       f_subset: list[int]) -> list[int]:  # fmt: skip
    """The run's ``data.subset``: f's training positions without the selection (removal) or
    the selection alone (coreset), sorted."""
    chosen = positions_of(train, selection.ids)
    if selection.experiment == CORESET:
        return sorted(chosen.tolist())
    kept = torch.tensor(f_subset, dtype=torch.long)
    return sorted(kept[~torch.isin(kept, chosen)].tolist())


def selections_table(selections: list[Selection], ranking: pd.DataFrame) -> pd.DataFrame:
    """One row per chosen candidate: experiment, chosen, k, draw, id, rank, score."""
    by_id = ranking.set_index("id")
    rows = [{"experiment": s.experiment, "chosen": s.chosen, "k": s.k, "draw": s.draw, "id": i,
             "rank": int(by_id.at[i, "rank"]), "score": float(by_id.at[i, "score"])}
            for s in selections for i in s.ids]  # fmt: skip
    return pd.DataFrame(rows, columns=["experiment", "chosen", "k", "draw", "id", "rank", "score"])
