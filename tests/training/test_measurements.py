"""Measurement hooks under the engine: points that share a step, the initialization's timing,
and hook outputs that share memory."""

import time

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from mnemoscope.training import load_network, train
from tests.training.configs import tiny_config
from tests.training.hooks import FunctionHook


def _logits_hook(fmnist, calls):
    images = fmnist.train.images[:8].float() / 255

    def probe(model, epoch):
        calls.append(epoch)
        return {"logits": model(images)}

    return probe, images


def test_points_on_one_step_are_measured_once_and_stored_under_each(tmp_path, fmnist):
    # 256 images, batch 128: 2 steps per epoch. 0.25 lies half-way between the initialization
    # and step 1: it is measured after step 1 (with 0.5), never in place of epoch 0.
    calls = []
    probe, images = _logits_hook(fmnist, calls)
    config = tiny_config(batch_size=128, measure_at=[0, 0.25, 0.5, 1], save_epochs=[0])
    result = train(config, tmp_path, {"probe": FunctionHook.of(probe)}, bundle=fmnist, quiet=True)
    assert calls == [0.0, 0.25, 1.0]  # one call per step, with the first point on it
    stored = result.measurements()
    assert list(stored) == [0.0, 0.25, 0.5, 1.0]
    np.testing.assert_array_equal(stored[0.25]["probe/logits"], stored[0.5]["probe/logits"])
    # Epoch 0 still holds the initialization: the logits of the epoch-0000 weights.
    initial = load_network(result.run.checkpoint_path("epoch-0000"))(images).detach().numpy()
    np.testing.assert_allclose(stored[0.0]["probe/logits"], initial, rtol=1e-5, atol=1e-5)
    assert not np.allclose(stored[0.0]["probe/logits"], stored[0.5]["probe/logits"])


def test_points_that_would_share_a_file_name_are_refused():
    with pytest.raises(ValidationError, match="would both be stored as epoch-00000.3333"):
        tiny_config(measure_at=[1 / 3, 0.33333])


def test_initialization_measurement_time_counts_in_the_first_epoch(tmp_path, fmnist):
    def slow_at_init(model, epoch):
        if epoch == 0:
            time.sleep(0.3)
        return {"epoch": np.array([epoch])}

    config = tiny_config(measure_at=[0])
    metrics = train(
        config, tmp_path, {"slow": FunctionHook.of(slow_at_init)}, bundle=fmnist, quiet=True
    ).metrics()
    assert metrics["measure_seconds"].iloc[0] >= 0.3
    assert metrics["measure_seconds"].iloc[1] == 0.0
    # seconds includes it too, so seconds - measure_seconds is still the training time.
    assert (metrics["seconds"] >= metrics["measure_seconds"]).all()
    assert metrics["seconds"].iloc[0] >= 0.3


def _measured_once(tmp_path, fmnist, outputs):
    config = tiny_config(epochs=1, measure_at=[1])
    hooks = {"views": FunctionHook.of(lambda model, epoch: outputs)}
    return train(config, tmp_path, hooks, bundle=fmnist, quiet=True).measurements()[1.0]


def test_hook_outputs_that_share_memory_are_stored(tmp_path, fmnist):
    # safetensors refuses tensors on one buffer (the same pointer and size): two views of one
    # tensor, or one tensor under two names. Each output is stored as a copy of its own.
    values = torch.arange(12.0).reshape(3, 4)
    array = np.arange(6, dtype=np.int64)
    outputs = {
        "all": values,
        "again": values,
        "flat": values.view(12),
        "head": values[:2],
        "array": array,
        "grid": array.reshape(2, 3),
    }
    measured = _measured_once(tmp_path, fmnist, outputs)
    for key, value in outputs.items():
        np.testing.assert_array_equal(measured[f"views/{key}"], np.asarray(value), err_msg=key)


def test_hook_outputs_that_numpy_cannot_hold_are_stored(tmp_path, fmnist):
    values = torch.arange(12.0).reshape(3, 4)
    outputs = {"columns": values[:, ::2], "half": values.to(torch.bfloat16)}
    measured = _measured_once(tmp_path, fmnist, outputs)
    np.testing.assert_array_equal(measured["views/columns"], values[:, ::2].numpy())
    # bfloat16 comes back as float32 (0..11 are exact in bfloat16).
    assert measured["views/half"].dtype == np.float32
    np.testing.assert_array_equal(measured["views/half"], values.numpy())
