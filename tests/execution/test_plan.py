"""plan: runs, which are complete, images x epochs and a measured cost, before any training."""

import numpy as np
import pytest

from mnemoscope.execution import train_all
from mnemoscope.execution.plan import dataset_or_standin, plan_table
from mnemoscope.training import RunSpec
from tests.training.configs import tiny_config


def test_plan_counts_runs_and_sees_which_are_complete(tmp_path, fmnist):
    specs = [RunSpec(tiny_config(seed=seed, epochs=1)) for seed in (0, 1, 0)]
    train_all(specs[:1], tmp_path, bundle=fmnist, quiet=True)
    table = plan_table(specs, [tmp_path], fmnist, real=True)
    assert list(table["complete"]) == [True, False]  # the repeated spec is one run
    assert list(table["image_epochs"]) == [256, 256]
    assert (table["seconds"] > 0).all()
    assert table["seconds"].iloc[0] == table["seconds"].iloc[1]  # one kind, measured once


def test_a_missing_dataset_is_planned_on_a_stand_in_of_its_size():
    bundle, real = dataset_or_standin("cifar10", {})
    if real:  # the real CIFAR-10 is installed here: nothing to stand in for
        return
    assert len(bundle.train) == 50000 and tuple(bundle.train.images.shape[1:]) == (3, 32, 32)
    assert bundle.num_classes == 10


def test_one_gpu_estimate_scales_the_assumed_throughput_and_says_so(tmp_path, fmnist):
    from mnemoscope.execution.plan import GPU_IMAGES_PER_SECOND

    resnet = RunSpec(tiny_config(model={"name": "resnet18"}, epochs=3))
    convnet = RunSpec(tiny_config(epochs=3))
    table = plan_table([resnet, convnet], [tmp_path], fmnist, real=True, measure=False)
    assert table["seconds"].isna().all()  # --no-measure: nothing timed here
    assumed, source = GPU_IMAGES_PER_SECOND[("resnet18", None)]
    # 256 images x 3 epochs at 28 x 28 px: the 32 x 32 px throughput scaled by pixels
    expected = 256 * 3 * (28 * 28) / (32 * 32) / assumed
    assert table["gpu_seconds"].iloc[0] == pytest.approx(expected)
    assert source in table["gpu_basis"].iloc[0] and "images/s" in table["gpu_basis"].iloc[0]
    assert np.isnan(table["gpu_seconds"].iloc[1]) and table["gpu_basis"].isna().iloc[1]
    simclr = RunSpec(tiny_config(model={"name": "resnet18"}, objective={"name": "simclr"}))
    slower = plan_table([simclr], [tmp_path], fmnist, real=True, measure=False)
    per_image = slower["gpu_seconds"].iloc[0] / slower["image_epochs"].iloc[0]
    assert per_image == pytest.approx(expected / (256 * 3) * 2)  # two views an image
