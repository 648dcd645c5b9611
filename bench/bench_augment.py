"""Throughput of the batched ``simclr`` preset vs torchvision v2 transforms applied image by image.

    python bench/bench_augment.py [--images 512] [--repeats 5]

Both sides take uint8 tensors and return float32 views in [0, 1] (torchvision ends with
``ToDtype(float32, scale=True)``), one view per image; the best of ``--repeats`` runs is reported.
For context it also times kornia's own ``kornia.augmentation`` pipeline (global RNG, one batch).
The machine is shared: run it when nothing else is busy, or read the best-of numbers with care.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torchvision.transforms import v2

from mnemoscope import augment
from mnemoscope.augment.blur import default_blur_kernel


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up: first-call allocations and kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def torchvision_simclr(size: int) -> v2.Compose:
    """The per-image pipeline the ``simclr`` preset reproduces (same defaults)."""
    kernel = default_blur_kernel((size, size))
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), antialias=True),
            v2.RandomHorizontalFlip(p=0.5),
            v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            v2.RandomGrayscale(p=0.2),
            v2.RandomApply([v2.GaussianBlur(kernel, sigma=(0.1, 2.0))], p=0.5),
            v2.ToDtype(torch.float32, scale=True),
        ]
    )


def kornia_simclr(size: int, channels: int) -> Callable[[torch.Tensor], torch.Tensor]:
    import kornia.augmentation as K

    kernel = default_blur_kernel((size, size))
    rgb = channels == 3  # kornia's saturation, hue and greyscale need 3 channels
    steps = [
        K.RandomResizedCrop((size, size), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
        K.RandomHorizontalFlip(p=0.5),
        K.ColorJitter(0.4, 0.4, 0.4 if rgb else 0.0, 0.1 if rgb else 0.0, p=0.8),
        *([K.RandomGrayscale(p=0.2)] if rgb else []),
        K.RandomGaussianBlur((kernel, kernel), (0.1, 2.0), p=0.5),
    ]
    pipeline = K.AugmentationSequential(*steps)
    return lambda images: pipeline(images.float() / 255)


def images_per_second(channels: int, size: int, n: int, repeats: int) -> dict[str, float]:
    images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8)

    simclr = augment.get("simclr", size)
    generator = torch.Generator().manual_seed(0)
    ours = best_seconds(lambda: simclr(images, generator), repeats)

    per_image = torchvision_simclr(size)
    theirs = best_seconds(lambda: [per_image(image) for image in images], repeats)

    batched_kornia = kornia_simclr(size, channels)
    with torch.random.fork_rng(devices=[]):  # kornia.augmentation draws from the global RNG
        kornia_seconds = best_seconds(lambda: batched_kornia(images), repeats)
    return {"mnemoscope": n / ours, "torchvision": n / theirs, "kornia": n / kornia_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.images} images")
    print(f"{'images':>16} {'mnemoscope':>12} {'torchvision':>12} {'ratio':>7} {'kornia.aug':>11}")
    for channels, size in ((1, 28), (3, 32)):
        rate = images_per_second(channels, size, args.images, args.repeats)
        label = f"{channels}x{size}x{size} uint8"
        print(
            f"{label:>16} {rate['mnemoscope']:>10,.0f}/s {rate['torchvision']:>10,.0f}/s "
            f"{rate['mnemoscope'] / rate['torchvision']:>6.1f}x {rate['kornia']:>9,.0f}/s"
        )


if __name__ == "__main__":
    main()
