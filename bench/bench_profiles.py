"""Cost of recognition tracking in the profiles study: its share of the run time at demo scale.

Runs a profiles config (default: configs/profiles-demo.yaml, with fewer seeds: the share does
not depend on their number) into a temporary directory and splits the wall time into training
(the engine's epoch time minus the time its hooks took), recognition tracking (the hook's own
timer, epoch-0 measurement included; the engine counts it in epoch 1's ``measure_seconds``), and
everything else (data, augmentation banks, t-SNE, activation maximization, tables, figures).
Target: tracking under 15% of the run time, checked on the stricter share of training +
tracking time (the share of the wall time also counts the study's fixed costs).

    python bench/bench_profiles.py [--config configs/profiles-demo.yaml] [--seeds 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import yaml

from mnemoscope import studies
from mnemoscope.studies.profiles import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="configs/profiles-demo.yaml")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per paradigm (0 = config's)")
    args = parser.parse_args()
    raw = yaml.safe_load(Path(args.config).read_text())
    if args.seeds:
        raw["seeds"] = args.seeds
    config = studies.load_config(raw)
    print(f"{args.config}: {len(config.paradigms)} paradigms x {config.seeds} seeds, "
          f"|X| = {config.tracking.size}, M = {config.tracking.augmentations}; "
          f"load average before: {os.getloadavg()[0]:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        study = run(config, out, quiet=True)
        wall = time.perf_counter() - started
        training = study.load_table("training")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"{'paradigm':20s} {'training s':>11s} {'tracking s':>11s} {'tracking share':>15s}")
    for name, rows in training.groupby("paradigm", sort=False):
        train_s, track_s = rows.training_seconds.sum(), rows.tracking_seconds.sum()
        print(f"{name:20s} {train_s:11.1f} {track_s:11.1f} {track_s / (train_s + track_s):15.1%}")
    train_s, track_s = training.training_seconds.sum(), training.tracking_seconds.sum()
    other = wall - train_s - track_s
    print(f"{'all':20s} {train_s:11.1f} {track_s:11.1f} {track_s / (train_s + track_s):15.1%}")
    print(
        f"wall {wall:.1f} s = training {train_s / wall:.1%} + tracking {track_s / wall:.1%} "
        f"+ other {other / wall:.1%} (data, banks, t-SNE, activation max, tables, figures)"
    )
    # The verdict uses the stricter share, of training + tracking: unlike the share of the wall
    # time, it does not shrink when fixed costs (t-SNE, figures) grow with fewer seeds.
    share = track_s / (train_s + track_s)
    verdict = "meets" if share < 0.15 else "misses"
    print(f"tracking share of training + tracking: {share:.1%} ({verdict} the 15% target)")


if __name__ == "__main__":
    main()
