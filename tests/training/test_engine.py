import numpy as np
import pandas as pd
import pytest
import torch

from mnemoscope.training import DataRecipe, NonFiniteLossError, RunSpec, prepare, train
from mnemoscope.training.objectives import StepOutput
from tests.training.configs import tiny_config
from tests.training.hooks import FunctionHook


def _weights(result):
    return result.model().state_dict()


def _assert_same_weights(first, second):
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


def test_same_config_gives_bitwise_identical_weights(tmp_path, fmnist):
    config = tiny_config()
    first = train(config, tmp_path / "a", bundle=fmnist, quiet=True)
    second = train(config, tmp_path / "b", bundle=fmnist, quiet=True)
    _assert_same_weights(_weights(first), _weights(second))
    other = train(tiny_config(seed=1), tmp_path / "a", bundle=fmnist, quiet=True)
    first_weights, other_weights = _weights(first), _weights(other)
    assert not all(torch.equal(first_weights[key], other_weights[key]) for key in first_weights)


def test_measurements_do_not_change_training_and_see_eval_mode(tmp_path, fmnist):
    seen = []

    def probe(model, epoch):
        seen.append((epoch, model.training, torch.is_grad_enabled()))
        torch.rand(3)  # a hook may use the global RNG: training must not notice
        images = fmnist.train.images[:8].float() / 255
        return {"logits": model(images), "epoch": np.array([epoch])}

    config = tiny_config(measure_at=[0, 0.5, 1, 2])
    measured = train(config, tmp_path, {"probe": FunctionHook.of(probe)}, bundle=fmnist, quiet=True)
    plain = train(tiny_config(), tmp_path, bundle=fmnist, quiet=True)
    _assert_same_weights(_weights(measured), _weights(plain))
    assert seen == [
        (0.0, False, False),
        (0.5, False, False),
        (1.0, False, False),
        (2.0, False, False),
    ]
    stored = measured.measurements()
    assert list(stored) == [0.0, 0.5, 1.0, 2.0]
    assert stored[2.0]["probe/logits"].shape == (8, 10)
    # The last measurement saw the final weights.
    final_logits = measured.model()(fmnist.train.images[:8].float() / 255).detach().numpy()
    np.testing.assert_allclose(stored[2.0]["probe/logits"], final_logits, rtol=1e-5, atol=1e-5)


def test_complete_run_is_skipped_and_metrics_recorded(tmp_path, fmnist):
    config = tiny_config()
    result = train(config, tmp_path, bundle=fmnist, quiet=True)
    final = result.run.checkpoint_path("final")
    stamp = final.stat().st_mtime_ns
    again = train(config, tmp_path, bundle=fmnist, quiet=True)
    assert again.run.path == result.run.path and final.stat().st_mtime_ns == stamp
    metrics = result.metrics()
    assert list(metrics["epoch"]) == [1, 2]
    assert (metrics["images_per_s"] > 0).all()
    meta = result.run.read_meta()
    assert meta["config_key"] == config.key() and meta["environment"]["versions"]["torch"]
    assert result.run.read_config()["seed"] == 0


def test_a_run_marked_complete_without_its_last_metrics_is_repaired_not_reused(
    tmp_path, fmnist
):
    """What a kill between the final checkpoint and its metrics left with earlier versions:
    COMPLETE over a metrics table without the last epoch. It is resumed, not returned."""
    from mnemoscope.training import RunSpec
    from mnemoscope.training.engine import is_trained, missing_records

    config = tiny_config()
    result = train(config, tmp_path, bundle=fmnist, quiet=True)
    full = result.metrics()
    result.run.save_table("metrics", full.iloc[:1])
    assert result.run.is_complete
    assert missing_records(result.run, config) == ["the metrics of epoch(s) [2]"]
    assert not is_trained(RunSpec(config), tmp_path)  # backends hand it out again
    again = train(config, tmp_path, bundle=fmnist, quiet=True)
    assert again.run.is_complete and missing_records(again.run, config) == []
    pd.testing.assert_frame_equal(again.metrics(), full)
    _assert_same_weights(_weights(again), _weights(result))


def test_supervised_learns_and_random_labels_and_simclr_lower_their_loss(tmp_path, fmnist):
    supervised = train(tiny_config(epochs=4), tmp_path, bundle=fmnist, quiet=True).metrics()
    # Chance is 0.1. bf16 sums depend on the thread count: 0.59 on 1 thread, above 0.6 on 2.
    assert supervised["train_accuracy"].iloc[-1] > 0.5
    noise = tiny_config(epochs=6, objective={"name": "random_labels"}, optim={"lr": 3e-3})
    random_loss = train(noise, tmp_path, bundle=fmnist, quiet=True).metrics()["loss"]
    assert random_loss.iloc[-1] < random_loss.iloc[0]
    simclr = tiny_config(
        epochs=4,
        objective={"name": "simclr", "temperature": 0.2},
        augment={"name": "simclr", "params": {"crop_scale": [0.3, 1.0]}},
    )
    simclr_loss = train(simclr, tmp_path, bundle=fmnist, quiet=True).metrics()["loss"]
    assert simclr_loss.iloc[-1] < simclr_loss.iloc[0]


def test_bad_subset_and_batch_refused_before_training(tmp_path, fmnist):
    with pytest.raises(ValueError, match="batch_size 512 is larger than the training subset"):
        train(tiny_config(batch_size=512), tmp_path, bundle=fmnist, quiet=True)
    with pytest.raises(ValueError, match="index 99999 is out of range"):
        train(tiny_config(data={"subset": [0, 99999]}), tmp_path, bundle=fmnist, quiet=True)
    assert not any(tmp_path.iterdir())


def test_non_finite_loss_stops_naming_epoch_and_step_and_keeps_checkpoint(
    tmp_path, fmnist, monkeypatch
):
    from mnemoscope.training import engine

    real_build = engine.build_objective

    def poisoned(*args, **kwargs):
        objective = real_build(*args, **kwargs)
        real_step, calls = objective.step, []

        def step(*step_args):
            calls.append(1)
            output = real_step(*step_args)
            if len(calls) == 6:  # epoch 2, step 2 (4 steps per epoch)
                return StepOutput(output.loss * float("nan"), output.per_example)
            return output

        objective.step = step
        return objective

    monkeypatch.setattr(engine, "build_objective", poisoned)
    config = tiny_config(epochs=3, checkpoint_every=1)  # keeps epoch 1's checkpoint
    with pytest.raises(NonFiniteLossError, match="epoch 2, step 2 of 4"):
        train(config, tmp_path, bundle=fmnist, quiet=True)
    from mnemoscope.store import RunDir

    run = RunDir(tmp_path / RunSpec(config).run_name)
    assert not run.is_complete
    _, metadata = run.load_checkpoint("last")
    assert metadata["epoch"] == "1"


class FirstImages(DataRecipe):
    """A training set built in the training process: the first ``count`` images."""

    count: int

    def build(self, source):
        from mnemoscope.data import DatasetBundle

        train_set = source.train.subset(torch.arange(self.count))
        return DatasetBundle("first", train_set, source.test, source.classes)


def test_a_data_recipe_builds_the_training_set_and_joins_the_key(tmp_path, fmnist):
    config = tiny_config(data={"subset": None}, epochs=1, batch_size=64)
    spec = RunSpec(config, FirstImages(count=128))
    result = train(spec, tmp_path, bundle=fmnist, quiet=True)
    assert result.run.path.name == spec.run_name != RunSpec(config).run_name
    assert spec.key() != RunSpec(config, FirstImages(count=64)).key()
    assert len(prepare(spec, fmnist).images) == 128  # the recipe's images, not the dataset's
    assert (result.run.path / "spec.json").exists()
    with pytest.raises(TypeError, match="not a mnemoscope Hook"):
        RunSpec(config, hooks={"probe": lambda network, epoch: {}})


def test_initial_weights_are_saved_as_epoch_0_without_changing_training(tmp_path, fmnist):
    def weights(model, epoch):
        return dict(model.state_dict())

    config = tiny_config(epochs=1, save_epochs=[0, 1], measure_at=[0])
    result = train(
        config, tmp_path, {"weights": FunctionHook.of(weights)}, bundle=fmnist, quiet=True
    )
    initial = result.model("epoch-0000").state_dict()
    measured = result.measurements()[0.0]  # what the hook saw before the first step
    for key, value in initial.items():
        np.testing.assert_array_equal(value.numpy(), measured[f"weights/{key}"], err_msg=key)
    trained = result.model("epoch-0001").state_dict()
    assert not torch.equal(initial["encoder.stages.0.0.weight"],
                           trained["encoder.stages.0.0.weight"])  # fmt: skip
    plain = train(tiny_config(epochs=1), tmp_path, bundle=fmnist, quiet=True)
    _assert_same_weights(trained, _weights(plain))
    # a complete run that lacks a requested checkpoint (an older version kept no epoch 0) is
    # refused, not silently reused, and nothing in it is touched
    result.run.checkpoint_path("epoch-0000").unlink()
    before = sorted(p.name for p in result.run.path.rglob("*"))
    with pytest.raises(RuntimeError, match=r"lacks the checkpoints of save_epochs \[0\]"):
        train(config, tmp_path, {"weights": FunctionHook.of(weights)}, bundle=fmnist, quiet=True)
    assert sorted(p.name for p in result.run.path.rglob("*")) == before


def test_checkpoint_every_writes_last_less_often_and_trains_the_same(tmp_path, fmnist, monkeypatch):
    from mnemoscope.training import engine

    saved = []
    real_save = engine.save_state

    def counting(run, name, state, key):
        saved.append(state.epoch)
        real_save(run, name, state, key)

    monkeypatch.setattr(engine, "save_state", counting)
    small = {"subset": list(range(128))}
    sparse = tiny_config(epochs=5, data=small, checkpoint_every=2, save_epochs=[3])
    result = train(sparse, tmp_path / "sparse", bundle=fmnist, quiet=True)
    assert saved == [2, 4, 5]  # every 2nd epoch and the last one
    assert result.run.checkpoint_path("epoch-0003").exists()  # save_epochs are unaffected
    assert list(result.metrics()["epoch"]) == [1, 2, 3, 4, 5]
    saved.clear()
    every = train(sparse.model_copy(update={"checkpoint_every": 1}), tmp_path / "every",
                  bundle=fmnist, quiet=True)  # fmt: skip
    assert saved == [1, 2, 3, 4, 5]
    assert every.run.path.name == result.run.path.name  # one run key: it changes no result
    _assert_same_weights(_weights(result), _weights(every))

    # by default (null): at the end of the first epoch CHECKPOINT_SECONDS after the last one
    default = sparse.model_copy(update={"checkpoint_every": None})
    for seconds, expected in ((0.0, [1, 2, 3, 4, 5]), (3600.0, [5])):
        monkeypatch.setattr(engine, "CHECKPOINT_SECONDS", seconds)
        saved.clear()
        timed = train(default, tmp_path / f"timed-{seconds}", bundle=fmnist, quiet=True)
        assert saved == expected
        _assert_same_weights(_weights(result), _weights(timed))


def test_batch_larger_than_a_full_training_set_is_refused_before_any_run(tmp_path, fmnist):
    from mnemoscope.data import DatasetBundle
    from mnemoscope.execution import train_all

    small = DatasetBundle("fmnist-8", fmnist.train.subset(torch.arange(8)), fmnist.test,
                          fmnist.classes)  # fmt: skip
    fits = tiny_config(data={"subset": None}, batch_size=8, epochs=1)
    too_large = tiny_config(data={"subset": None}, batch_size=16, epochs=1)
    with pytest.raises(ValueError, match=r"batch_size 16 is larger than the training subset \(8"):
        train_all([RunSpec(fits), RunSpec(too_large)], tmp_path, bundle=small, quiet=True)
    assert not any(tmp_path.iterdir())  # not even the first run trained


def test_time_steps_times_optimizer_steps_and_writes_nothing(tmp_path, fmnist, monkeypatch):
    from mnemoscope.training.engine import time_steps

    monkeypatch.chdir(tmp_path)
    seconds, batch = time_steps(RunSpec(tiny_config(batch_size=100)), fmnist, steps=2)
    assert seconds > 0 and batch == 100
    _, small = time_steps(RunSpec(tiny_config(data={"subset": list(range(8))}, batch_size=8)),
                          fmnist, steps=1)  # fmt: skip
    assert small == 8
    assert not any(tmp_path.iterdir())  # a cost estimate, not a run


def test_a_run_trains_on_the_free_cores_and_a_resumed_one_on_the_count_it_started_with(
    tmp_path, fmnist, monkeypatch
):
    from mnemoscope import environment
    from mnemoscope.store import RunDir

    monkeypatch.setattr(environment, "_threads_pinned", False)  # tests/conftest.py pins them
    monkeypatch.setattr(environment, "usable_cores", lambda: 2)
    monkeypatch.setattr(environment.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(environment, "_other_runnable", lambda: 1)  # one core taken
    seen = []

    def threads(model, epoch):
        seen.append(torch.get_num_threads())
        return {"epoch": np.array([epoch])}

    before = torch.get_num_threads()
    config = tiny_config(measure_at=[0, 2])
    hooks = {"threads": FunctionHook.of(threads)}
    result = train(config, tmp_path / "fresh", hooks, bundle=fmnist, quiet=True)
    assert seen == [1, 1] and result.run.read_meta()["threads"] == 1
    assert torch.get_num_threads() == before

    # killed before its first checkpoint, having started with 2 threads: it keeps them
    seen.clear()
    spec = RunSpec(config, hooks=hooks)
    RunDir(tmp_path / "resumed" / spec.run_name).update_meta(threads=2)
    resumed = train(spec, tmp_path / "resumed", bundle=fmnist, quiet=True)
    assert seen == [2, 2] and resumed.run.read_meta()["threads"] == 2
