"""Every self-supervised method under the engine: a few steps on one fixed tiny batch lower its
loss, and its weights come back as a plain Network while its own modules stay in ``last``."""

import pytest
import torch

from mnemoscope.models import Network
from mnemoscope.training import load_network, train
from tests.training.conftest import method_config

# Modules each method adds to the network, by their key in the objective's checkpointed state.
OWNED = {
    "byol": ("predictor", "teacher"),
    "simsiam": ("predictor",),
    "dino": ("teacher", "loss"),
    "mae": ("decoder_embed", "decoder", "prediction_head"),
    "vicreg": (),
    "barlowtwins": (),
}


@pytest.mark.parametrize("method", list(OWNED))
def test_a_few_steps_on_a_fixed_batch_lower_the_loss(method, tmp_path, fmnist):
    # 32 images, batch 32: every epoch is one step on the same images (fresh views). DINO:
    # fixed temperatures and a teacher that keeps up within 8 steps.
    dino = {"warmup_teacher_temp_epochs": 0, "teacher_temp": 0.04, "momentum": 0.9,
            "freeze_last_layer_epochs": 0}  # fmt: skip
    config = method_config(
        method, objective=dino if method == "dino" else None, data={"subset": list(range(32))},
        batch_size=32, epochs=8, optim={"lr": 3e-3, "schedule": "none"},
    )  # fmt: skip
    result = train(config, tmp_path, bundle=fmnist, quiet=True)
    loss = result.metrics()["loss"]
    assert loss.notna().all() and result.metrics()["train_accuracy"].isna().all()
    assert loss.iloc[-2:].mean() < loss.iloc[:2].mean(), loss.tolist()

    network = load_network(result.run.checkpoint_path("final"))
    assert type(network) is Network
    assert network.state_dict().keys() == result.model().state_dict().keys()
    state, _ = result.run.load_checkpoint("last")
    owned = {key.split("/")[1].split(".")[0] for key in state if key.startswith("objective/")}
    assert owned == set(OWNED[method])
    if "teacher" in owned:  # the EMA teacher comes back as a Network too, not the student
        teacher = result.model("teacher").state_dict()
        assert teacher.keys() == network.state_dict().keys()
        assert torch.equal(teacher["encoder.stages.0.0.weight"], state[
            "objective/teacher.encoder.stages.0.0.weight"])  # fmt: skip
        assert not torch.equal(teacher["encoder.stages.0.0.weight"],
                               network.state_dict()["encoder.stages.0.0.weight"])  # fmt: skip
    else:
        with pytest.raises(ValueError, match="has no EMA teacher"):
            result.model("teacher")


def test_a_network_the_method_cannot_use_is_refused_before_training(tmp_path, fmnist):
    config = method_config("dino", model={"projector_hidden": 0})
    with pytest.raises(ValueError, match="the dino projector is a 3-layer MLP"):
        train(config, tmp_path, bundle=fmnist, quiet=True)
    assert not any(tmp_path.iterdir())
