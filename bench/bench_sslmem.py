"""SSLMem scoring speed: the batched scorer vs the same formula one image at a time.

Both compute eq. 1 for K f and K g encoders over A = 5 view pairs, l2-normalized
representations at the same tap (default: the paper's, the last feature map), l2 distance, and
eq. 2 from them. The per-image scorer does what the authors' ``memorization_scores.py`` does:
for every image and pair, draw each view with a per-image torchvision transform (the same SimCLR
recipe), push it through each encoder on its own (batch of one) and average the distances. The
batched scorer (``measure.alignment.alignment_losses``) draws the views of 256 images at once,
folds BatchNorm into the convs (``models.folding``) and runs every encoder once per chunk of
images x views. Both use channels_last networks in fp32. The per-image loop is also timed on the
folded encoders, to show how much of the speed-up is batching. Before timing, the two scorers
are run on the same views to show that they compute the same numbers.

    python bench/bench_sslmem.py [--images 256] [--model convnet-tiny] [--seeds 3] [--tap auto]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from mnemoscope import data, models
from mnemoscope.measure.alignment import (
    alignment_losses,
    draw_views,
    measurement_augmentation,
    representations,
    resolve_tap,
)
from mnemoscope.models.folding import fold_batch_norms


def per_view_transform(size: int):
    """SimCLR's recipe as a per-image torchvision transform (what the authors' scorer applies)."""
    from torchvision.transforms import v2

    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(0.08, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        v2.RandomGrayscale(p=0.2),
        v2.RandomApply([v2.GaussianBlur(3, sigma=(0.1, 2.0))], p=0.5),
        v2.ToDtype(torch.float32, scale=True),
    ])  # fmt: skip


@torch.no_grad()
def per_image_alignment(encoders, images, pairs, tap, transform=None, views=None):
    """[E, N] eq. 1, one image and one view at a time: views from ``transform`` per view, or
    the given uint8 ``views`` [N, 2A, C, H, W]."""
    taps = [[resolve_tap(encoder, tap)] for encoder in encoders]
    distances = np.empty((len(encoders), len(images), pairs))
    for index in range(len(images)):
        for a in range(pairs):
            # one pair of views per image and pair, fed to every encoder (as the authors do)
            if views is None:
                first, second = transform(images[index]), transform(images[index])
            else:
                first, second = views[index, 2 * a] / 255, views[index, 2 * a + 1] / 255
            for e, encoder in enumerate(encoders):
                (u,) = representations(encoder, first[None], taps[e])  # l2-normalized
                (v,) = representations(encoder, second[None], taps[e])
                distances[e, index, a] = (u - v).norm().item()
    result = distances.mean(axis=2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--model", default="convnet-tiny")
    parser.add_argument("--seeds", type=int, default=3, help="encoders per side (K)")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--tap", default="auto", help="representation (auto: last feature map)")
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=["fp32", "bf16"],
        help="batched scorer's precision (the per-image loop stays fp32)",
    )
    args = parser.parse_args()

    images = data.load("fmnist-mini").train.images[: args.images]
    encoders = []
    for seed in range(2 * args.seeds):
        torch.manual_seed(seed)
        net = models.build(args.model, in_channels=1, num_outputs=64, image_size=28).eval()
        encoders.append(net.to(memory_format=torch.channels_last))
    augmentation = measurement_augmentation("simclr", 28)
    print(f"{args.images} images, {args.seeds} f + {args.seeds} g {args.model}, A = {args.pairs}, "
          f"torch threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}")  # fmt: skip

    # Same formula: on the same views the two scorers agree.
    check = images[:16]
    views = draw_views(check, augmentation, 2 * args.pairs, seed=0, block=0)
    slow = per_image_alignment(encoders, check, args.pairs, args.tap, views=views.float())
    fast = alignment_losses(encoders, check, augment=augmentation, pairs=args.pairs, seed=0,
                            tap=args.tap)  # fmt: skip
    print(f"max |batched - per image| on the same views: {np.abs(slow - fast.numpy()).max():.2e}")

    def batched_scorer(precision: str):
        return alignment_losses(encoders, images, augment=augmentation, pairs=args.pairs, seed=0,
                                tap=args.tap, precision=precision)  # fmt: skip

    def per_image_scorer(networks):
        torch.manual_seed(0)  # torchvision transforms draw from the global generator
        per_image_alignment(networks, images, args.pairs, args.tap, per_view_transform(28))

    batched_scorer(args.precision)  # warm-up: oneDNN builds kernels per shape and precision
    start = time.perf_counter()
    batched_losses = batched_scorer(args.precision)
    batched = time.perf_counter() - start
    start = time.perf_counter()
    per_image_scorer(encoders)
    looped = time.perf_counter() - start
    start = time.perf_counter()
    per_image_scorer([fold_batch_norms(encoder) for encoder in encoders])
    looped_folded = time.perf_counter() - start
    for name, seconds in [("batched", batched), ("per image", looped),
                          ("per image, BatchNorm folded", looped_folded)]:  # fmt: skip
        print(f"{name + ':':28s} {seconds:7.2f} s  ({args.images / seconds:8.1f} images/s)")
    print(
        f"speed-up over the per-image loop: {looped / batched:.1f}x "
        f"({looped_folded / batched:.1f}x over the loop on folded encoders)"
    )
    if args.precision != "fp32":  # what the faster precision costs in accuracy
        error = (batched_losses - batched_scorer("fp32")).abs()
        print(
            f"{args.precision} vs fp32 L_align: max |diff| {error.max():.1e}, "
            f"mean {error.mean():.1e}"
        )


if __name__ == "__main__":
    main()
