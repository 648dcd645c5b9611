"""plan: runs, which are complete, images x epochs and a measured cost, before any training."""

from mnemoscope.execution import train_all
from mnemoscope.execution.plan import dataset_or_standin, plan_table
from mnemoscope.training import RunSpec
from tests.training.configs import tiny_config


def test_plan_counts_runs_and_sees_which_are_complete(tmp_path, fmnist):
    specs = [RunSpec(tiny_config(seed=seed, epochs=1)) for seed in (0, 1, 0)]
    train_all(specs[:1], tmp_path, bundle=fmnist, quiet=True)
    table = plan_table(specs, tmp_path, fmnist, real=True)
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
