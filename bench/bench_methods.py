"""Training throughput of every self-supervised method under the engine (images per second).

Each method's quick recipe (``mnemoscope.training.recipes``) on ``--model`` (MAE always on
vit-tiny) trains ``--images`` fmnist-mini images for 2 epochs; the second epoch's images/s is
reported (the first pays for kernel selection). Augmentation, the objective's extra modules
(teachers, predictors, decoder) and the optimizer step are all included. With ``--lambda`` the
alignment regularizer is on as well.

    python bench/bench_methods.py [--images 1024] [--model convnet-small] [--threads 2]

The machine is shared: run it when nothing else is busy, and note ``uptime`` with the numbers.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import torch

from mnemoscope import data
from mnemoscope.training import METHODS, recipe, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--model", default="convnet-small")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--lambda", dest="weight", type=float, default=0.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bundle = data.load("fmnist-mini")
    print(f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    for method in args.methods.split(","):
        model = {} if method == "mae" else {"name": args.model}
        config = recipe(
            method, epochs=2, batch_size=args.batch_size, model=model,
            data={"subset": list(range(args.images))}, alignment_lambda=args.weight,
        )  # fmt: skip
        with tempfile.TemporaryDirectory() as root:
            metrics = train(config, root, bundle=bundle, quiet=True).metrics()
        speed = float(metrics["images_per_s"].iloc[-1])
        print(f"{method:12s} {config.model.name:14s} {speed:8.0f} img/s")


if __name__ == "__main__":
    main()
