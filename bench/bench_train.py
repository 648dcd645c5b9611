"""SimCLR training throughput: mnemoscope's engine vs the pipeline a user would otherwise write.

mnemoscope: uint8 data on the device, batched per-sample augmentation, channels_last and bf16
autocast where the hardware has it (``precision: auto``). Baseline: lightly's SimCLRTransform on
PIL images + a torch DataLoader + lightly's NTXentLoss, fp32, same model, batch and machine.
Also prints achieved GFLOP/s as a fraction of a measured matmul peak (fp32 and bf16).

    python bench/bench_train.py [--images 1024] [--models convnet-small,resnet18]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from lightly.loss import NTXentLoss
from lightly.transforms import SimCLRTransform
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode
from torchvision.transforms.v2.functional import to_pil_image

from mnemoscope import data, models
from mnemoscope.training import TrainConfig, prepare, train


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def train_flops_per_image(network: torch.nn.Module, image_shape: tuple[int, ...]) -> float:
    """Forward FLOPs of two views, times 3 for forward + backward."""
    counter = FlopCounterMode(display=False)
    with counter:
        network(torch.rand(2, *image_shape))
    return 3 * counter.get_total_flops()


class PILImages(Dataset):
    """The baseline's dataset: PIL images through a per-image transform, as torchvision does."""

    def __init__(self, images: torch.Tensor, transform) -> None:
        self.images = [to_pil_image(image) for image in images]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.transform(self.images[index])


def baseline_images_per_s(
    config: TrainConfig, images: torch.Tensor, network, epochs: int = 1
) -> float:
    size, channels = images.shape[-1], images.shape[1]
    transform = SimCLRTransform(
        input_size=size, normalize={"mean": [0.5] * channels, "std": [0.5] * channels},
        rr_prob=0.0, vf_prob=0.0, cj_strength=0.5,
    )  # fmt: skip
    loader = DataLoader(PILImages(images, transform), batch_size=config.batch_size, shuffle=True,
                        drop_last=True)  # fmt: skip
    criterion = NTXentLoss(temperature=config.objective.temperature)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.optim.lr)
    network.train()
    seen, start = 0, time.perf_counter()
    for _ in range(epochs):
        for view0, view1 in loader:
            z0, z1 = network(torch.cat([view0, view1])).chunk(2)
            loss = criterion(z0, z1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(view0)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--models", default="convnet-small,resnet18")
    args = parser.parse_args()
    torch.manual_seed(0)
    bundle = data.load("fmnist-mini")
    peaks = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(f"threads {torch.get_num_threads()}; matmul peak fp32 {peaks['fp32']:.0f} GFLOP/s, "
          f"bf16 {peaks['bf16']:.0f} GFLOP/s")  # fmt: skip
    for name in args.models.split(","):
        images = args.images if name.startswith("convnet") else min(args.images, 256)
        batch = min(args.batch_size, images)
        config = TrainConfig.model_validate({
            "data": {"subset": list(range(images))}, "model": {"name": name},
            "objective": {"name": "simclr"}, "epochs": 2, "batch_size": batch,
        })  # fmt: skip
        with tempfile.TemporaryDirectory() as root:
            ours = float(train(config, root, quiet=True).metrics()["images_per_s"].iloc[-1])
        prepared = prepare(config, bundle)
        network = models.build(**prepared.network_config)
        flops = train_flops_per_image(network, tuple(prepared.images.shape[1:]))
        theirs = baseline_images_per_s(config, bundle.train.images[:images], network)
        precision = "bf16" if _uses_bf16(config) else "fp32"
        ours_gflops, theirs_gflops = ours * flops / 1e9, theirs * flops / 1e9
        print(
            f"{name:14s} mnemoscope {ours:8.0f} img/s ({precision}, {ours_gflops:6.1f} GFLOP/s = "
            f"{ours_gflops / peaks[precision]:5.1%} of peak) | lightly+DataLoader {theirs:7.0f} "
            f"img/s (fp32, {theirs_gflops:6.1f} GFLOP/s = {theirs_gflops / peaks['fp32']:5.1%} "
            f"of peak) | ratio {ours / theirs:5.1f}x"
        )


def _uses_bf16(config: TrainConfig) -> bool:
    from mnemoscope.environment import autocast_dtype, pick_device

    return autocast_dtype(pick_device(config.device), config.precision) is torch.bfloat16


if __name__ == "__main__":
    main()
