"""plan: runs, which are complete, images x epochs and a measured cost, before any training."""

from typing import ClassVar

import numpy as np
import pytest
import torch

from mnemoscope import data
from mnemoscope.execution import train_all
from mnemoscope.execution.plan import GPU_IMAGES_PER_SECOND, dataset_or_standin, plan_table
from mnemoscope.training import DataRecipe, RunSpec, engine
from tests.training.configs import tiny_config


def test_plan_counts_runs_and_sees_which_are_complete(tmp_path, fmnist):
    specs = [RunSpec(tiny_config(seed=seed, epochs=1)) for seed in (0, 1, 0)]
    train_all(specs[:1], tmp_path, bundle=fmnist, quiet=True)
    table = plan_table(specs, [tmp_path], fmnist, real=True)
    assert list(table["complete"]) == [True, False]  # the repeated spec is one run
    assert list(table["image_epochs"]) == [256, 256]
    assert (table["seconds"] > 0).all()
    assert table["seconds"].iloc[0] == table["seconds"].iloc[1]  # one kind, measured once


def test_plan_flags_a_complete_run_whose_files_are_not_its_manifests(tmp_path, fmnist):
    """A finished run's outputs are bound to it (store: MANIFEST.json): plan names a file
    its run did not write and one it wrote that is gone (issue 25)."""
    from mnemoscope.execution.plan import plan_summary

    spec = RunSpec(tiny_config(epochs=1))
    train_all([spec], tmp_path, bundle=fmnist, quiet=True)
    table = plan_table([spec], [tmp_path], fmnist, real=True, measure=False)
    assert not plan_summary(table, real=True, measure=False)[1][-1].startswith("warning")
    run = tmp_path / spec.run_name
    (run / "tables" / "stale.csv").write_text("epoch\n9\n")
    (run / "tables" / "metrics.csv").unlink()
    table = plan_table([spec], [tmp_path], fmnist, real=True, measure=False)
    assert list(table["complete"]) == [True]
    warning = plan_summary(table, real=True, measure=False)[1][-1]
    assert warning.startswith("warning: 1 complete run(s) hold files that are not their")
    assert f"{run / 'tables' / 'stale.csv'} is not an output of the finished run" in warning
    assert f"{run / 'tables' / 'metrics.csv'} is missing (listed in MANIFEST.json)" in warning


def test_a_missing_dataset_is_planned_on_a_stand_in_of_its_size():
    bundle, real = dataset_or_standin("cifar10", {})
    if real:  # the real CIFAR-10 is installed here: nothing to stand in for
        return
    assert len(bundle.train) == 50000 and tuple(bundle.train.images.shape[1:]) == (3, 32, 32)
    assert bundle.num_classes == 10


def test_one_gpu_estimate_scales_the_assumed_throughput_and_says_so(tmp_path, fmnist):
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


def test_plan_summary_counts_per_kind_and_estimates_the_runs_left():
    import pandas as pd

    from mnemoscope.execution.plan import PLAN_COLUMNS, plan_summary

    table = pd.DataFrame({
        "kind": ["a b b8", "a b b8", "c d b8"], "complete": [True, False, False],
        "image_epochs": [1000, 1000, 500], "seconds": [10.0, 10.0, 4000.0],
        "gpu_seconds": [np.nan, np.nan, 7200.0],
        "gpu_basis": [None, None, "1 images/s at 32 x 32 px (assumed)"],
    })  # fmt: skip
    rows, lines = plan_summary(table, real=True, measure=True)
    assert all(len(row) == len(PLAN_COLUMNS) for row in rows)
    assert rows[0] == ("a b b8", "2", "1", "2,000", "1.00e-02", "0 min 10 s", "-")
    assert rows[1] == ("c d b8", "1", "0", "500", "8.00e+00", "1 h 06 min", "2 h 00 min")
    assert lines[0] == ("3 runs, 2 to train: about 1 h 06 min of training on this machine (one "
                        "run after another; measurements come on top)")  # fmt: skip
    assert lines[1].startswith("* one-GPU estimate: about 2 h 00 min of training for the 1 runs")
    assert lines[1].endswith("c d b8: 1 images/s at 32 x 32 px (assumed).")
    rows, lines = plan_summary(table.assign(complete=None), real=False, measure=False)
    assert rows[0] == ("a b b8", "2", "?", "2,000", "-", "-", "-")
    assert lines[0] == "3 runs, 3 to train (not timed here: --no-measure)"


class _Halves(DataRecipe):
    """The first ``count`` training images at half their size, noting each build."""

    count: int
    builds: ClassVar[list[int]] = []

    def build(self, source):
        _Halves.builds.append(self.count)

        def halved(images):
            return data.ImageSet(images.images[:, :, ::2, ::2].contiguous(), images.labels,
                                 images.ids)  # fmt: skip

        train = source.train.subset(torch.arange(self.count))
        return data.DatasetBundle("halves", halved(train), halved(source.test), source.classes)


def test_plan_counts_images_without_preparing_any_run(tmp_path, fmnist, monkeypatch):
    def no_preparing(*args, **kwargs):
        raise AssertionError("plan --no-measure counts images without preparing a run")

    monkeypatch.setattr(engine, "prepare", no_preparing)
    subset = RunSpec(tiny_config(data={"subset": list(range(100))}, epochs=3))
    whole = RunSpec(tiny_config(data={"subset": None}, epochs=1))
    recipe = [RunSpec(tiny_config(data={"subset": None}, seed=seed), _Halves(count=300))
              for seed in (0, 1)]  # fmt: skip
    every_third = tiny_config(data={"subset": list(range(0, 270, 3))})
    recipe_subset = RunSpec(every_third, _Halves(count=300))
    _Halves.builds.clear()
    table = plan_table([subset, whole, *recipe, recipe_subset], [tmp_path], fmnist, real=True,
                       measure=False)  # fmt: skip
    assert list(table["images"]) == [100, len(fmnist.train), 300, 300, 90]
    assert list(table["image_epochs"]) == [300, len(fmnist.train), 600, 600, 180]
    assert _Halves.builds == [300]  # one build per recipe, however many runs share it
    resnet = RunSpec(tiny_config(model={"name": "resnet18"}, data={"subset": None}),
                     _Halves(count=300))  # fmt: skip
    halved = plan_table([resnet], [tmp_path], fmnist, real=True, measure=False)
    assumed, _ = GPU_IMAGES_PER_SECOND[("resnet18", None)]
    expected = 300 * 2 * (14 * 14) / (32 * 32) / assumed  # the recipe's image size, 14 x 14 px
    assert halved["gpu_seconds"].iloc[0] == pytest.approx(expected)
    with pytest.raises(ValueError, match="data.subset index 400 is out of range"):
        beyond = tiny_config(data={"subset": [0, 400]}, batch_size=2)
        plan_table([RunSpec(beyond, _Halves(count=300))], [tmp_path], fmnist, real=True,
                   measure=False)  # fmt: skip
