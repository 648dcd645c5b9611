"""DP-SGD (training.privacy): per-example gradients, the accountant, refusals, run keys."""

import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule
from opacus.accountants import RDPAccountant
from timm.models.vision_transformer import VisionTransformer
from torch import nn
from torch.func import functional_call, grad, vmap

from mnemoscope import models
from mnemoscope.training import TrainConfig, load_network, recipe, train
from mnemoscope.training.objectives import REGISTRY
from mnemoscope.training.privacy import Accounting, PrivateStep, prepare_for_opacus
from tests.training.configs import tiny_config


def _per_example_grads(model: nn.Module, images, targets):
    """Opacus' per-example gradients and torch.func's (vmap of grad) of the cross-entropy."""
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    buffers = dict(model.named_buffers())

    def loss_one(params, image, target):
        logits = functional_call(model, {**params, **frozen, **buffers}, (image[None],))
        return F.cross_entropy(logits, target[None])

    detached = {n: p.detach() for n, p in trainable.items()}
    expected = vmap(grad(loss_one), in_dims=(None, 0, 0))(detached, images, targets)
    wrapped = GradSampleModule(model)
    F.cross_entropy(wrapped(images), targets).backward()  # the batch mean, as in training
    found = {n: p.grad_sample for n, p in trainable.items()}
    return found, expected


@pytest.mark.parametrize("kind", ["convnet-groupnorm", "vit"])
def test_opacus_per_example_gradients_equal_torch_func(kind):
    torch.manual_seed(0)
    if kind == "vit":  # timm's LayerNorm and attention, as in vit-tiny
        model = VisionTransformer(img_size=8, patch_size=4, in_chans=1, num_classes=3,
                                  embed_dim=16, depth=1, num_heads=2)  # fmt: skip
        images = torch.randn(5, 1, 8, 8)
    else:  # the engine's DP network: GroupNorm instead of BatchNorm, in-place ReLU undone
        model = models.build("convnet-tiny", in_channels=1, num_outputs=3, projector_hidden=64,
                             norm="groupnorm")  # fmt: skip
        images = torch.rand(5, 1, 12, 12)
    frozen = prepare_for_opacus(model)
    assert ("cls_token" in frozen) == (kind == "vit")
    targets = torch.tensor([0, 1, 2, 0, 1])
    found, expected = _per_example_grads(model.train(), images, targets)
    assert set(found) == set(expected) and len(found) > 4
    for name, value in expected.items():
        assert found[name] is not None, name
        # fp32 sums in another order: equal to 1e-4 of the gradient's scale
        error = (found[name] - value).abs().max()
        assert found[name].shape == value.shape and error <= 1e-4 * value.abs().max(), name
    # Per-example gradients differ between examples (the comparison is not of zeros).
    assert not torch.allclose(expected[next(iter(expected))][0], expected[next(iter(expected))][1])


def test_groupnorm_network_has_no_batchnorm_and_rebuilds_from_its_config():
    network = models.build("convnet-tiny", projector_hidden=16, norm="groupnorm")
    kinds = {type(module) for module in network.modules()}
    assert nn.GroupNorm in kinds and not any(issubclass(k, nn.BatchNorm2d) for k in kinds)
    assert network.config["norm"] == "groupnorm"
    rebuilt = models.build_from_state(network.config, network.state_dict(), "memory")
    assert {type(module) for module in rebuilt.modules()} == kinds
    assert "norm" not in models.build("convnet-tiny").config  # old networks keep their config
    with pytest.raises(ValueError, match="norm must be one of"):
        models.build("convnet-tiny", norm="layernorm")


def test_recorded_epsilon_is_the_accountants_and_the_run_is_reproducible(tmp_path, fmnist):
    config = tiny_config(data={"subset": list(range(128))}, batch_size=32,
                         privacy={"epsilon": 4.0})  # fmt: skip
    result = train(config, tmp_path / "a", bundle=fmnist, quiet=True)
    record = result.run.read_meta()["privacy"]
    n = len(config.data.subset)
    assert record["delta"] == pytest.approx(1 / n) and record["n"] == n
    assert record["steps"] == 2 * 4 and record["sample_rate"] == pytest.approx(32 / n)
    accountant = RDPAccountant()
    for _ in range(record["steps"]):
        accountant.step(noise_multiplier=record["noise_multiplier"], sample_rate=32 / n)
    assert record["epsilon"] == pytest.approx(accountant.get_epsilon(1 / n), rel=1e-9)
    assert 4.0 - 0.05 < record["epsilon"] <= 4.0 + 1e-9  # calibrated to the target
    metrics = result.metrics()
    assert metrics["epsilon"].iloc[-1] == pytest.approx(record["epsilon"])
    assert metrics["epsilon"].iloc[0] < metrics["epsilon"].iloc[-1]
    assert record["normalization"].startswith("BatchNorm replaced by GroupNorm")
    network = load_network(result.run.checkpoint_path("final"))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in network.modules())
    # Same config, same weights (Poisson batches and noise come from the run's seed) ...
    again = train(config, tmp_path / "b", bundle=fmnist, quiet=True)
    first, second = (load_network(r.run.checkpoint_path("final")).state_dict()
                     for r in (result, again))  # fmt: skip
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0)


def test_the_step_adds_gaussian_noise_of_sigma_c_over_the_expected_batch():
    layer = nn.Linear(200, 100, bias=False)
    accounting = Accounting(8.0, 1e-3, n=1000, batch_size=10, sample_rate=0.01, steps=1,
                            noise_multiplier=2.0, max_grad_norm=0.5, accountant="rdp")
    before = layer.weight.detach().clone()
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)
    private = PrivateStep.attach(accounting, layer, None, optimizer)
    loss = 0.0 * layer(torch.randn(10, 200)).sum()  # every per-example gradient is 0
    private.step(loss, torch.Generator().manual_seed(0), torch.device("cpu"))
    change = layer.weight.detach() - before  # -lr * noise / batch
    assert change.mean().abs() < 0.01
    assert change.std().item() == pytest.approx(2.0 * 0.5 / 10, rel=0.05)


def test_mae_trains_with_dp_on_vit_tiny_freezing_only_its_tokens(tmp_path, fmnist):
    config = recipe("mae", "quick", data={"subset": list(range(32))}, batch_size=16, epochs=1,
                    model={"projector_hidden": 16, "options": {"patch_size": 7}},
                    objective={"decoder_dim": 32, "decoder_depth": 1, "decoder_heads": 2},
                    save_epochs=[0], privacy={"epsilon": 8.0})  # fmt: skip
    result = train(config, tmp_path, bundle=fmnist, quiet=True)
    record = result.run.read_meta()["privacy"]
    assert record["frozen"] == ["network.encoder.vit.cls_token", "objective.decoder.mask_token"]
    assert record["precision"] == "fp32" and record["epsilon"] <= 8.0 + 1e-9
    assert result.metrics()["epsilon"].iloc[-1] == pytest.approx(record["epsilon"])
    initial = load_network(result.run.checkpoint_path("epoch-0000")).state_dict()
    trained = load_network(result.run.checkpoint_path("final")).state_dict()
    assert torch.equal(initial["encoder.vit.cls_token"], trained["encoder.vit.cls_token"])
    qkv = "encoder.vit.blocks.0.attn.qkv.weight"
    assert not torch.equal(initial[qkv], trained[qkv])  # the encoder itself trains


COUPLED = sorted(name for name, method in REGISTRY.items() if not method.independent_examples)


def test_the_registry_marks_exactly_the_per_example_methods():
    assert set(REGISTRY) - set(COUPLED) == {"supervised", "random_labels", "mae"}
    assert {"simclr", "dino", "vicreg", "byol", "simsiam", "barlowtwins"} <= set(COUPLED)


@pytest.mark.parametrize("name", COUPLED)
def test_batch_coupled_methods_are_refused_naming_them(name):
    model = {"name": "vit-tiny"} if name == "dino" else {}
    with pytest.raises(ValueError, match=rf"objective '{name}' couples the examples of a batch"):
        TrainConfig.model_validate({"objective": {"name": name}, "model": model,
                                    "privacy": {"epsilon": 8}})  # fmt: skip


def test_mixup_and_the_regularizer_are_refused_with_privacy():
    with pytest.raises(ValueError, match="mixup"):
        tiny_config(objective={"name": "supervised", "mixup_alpha": 1.0}, privacy={"epsilon": 8})
    with pytest.raises(ValueError, match="alignment_lambda"):
        TrainConfig.model_validate({
            "objective": {"name": "mae"}, "model": {"name": "vit-tiny"},
            "alignment_lambda": 0.5, "privacy": {"epsilon": 8},
        })  # fmt: skip


def test_a_head_groupnorm_would_make_constant_is_refused_for_methods_that_train_it():
    # why: GroupNorm(min(32, C), C) on a projector 16 wide is one value a group, so the head's
    # output is the same for every input (the network would train at chance without an error)
    images = torch.rand(4, 3, 28, 28)
    for hidden, dead in ((16, True), (64, False)):
        network = models.build("convnet-tiny", projector_hidden=hidden, norm="groupnorm").eval()
        spread = (network(images) - network(images)[:1]).abs().max().item()
        assert (spread < 1e-4) == dead, (hidden, spread)  # float rounding only, when dead
    for name in ("supervised", "random_labels"):
        with pytest.raises(ValueError, match=r"projector_hidden=16 each group holds one value"):
            TrainConfig.model_validate({"objective": {"name": name},
                                        "model": {"name": "convnet-tiny", "projector_hidden": 16},
                                        "privacy": {"epsilon": 8}})  # fmt: skip
    # a head that keeps its input, no norm, or a method that does not train the head: allowed
    for model, objective in (({"projector_hidden": 64}, "supervised"),
                             ({"projector_hidden": 16, "projector_norm": "none"}, "supervised"),
                             ({"name": "vit-tiny", "projector_hidden": 16}, "mae")):  # fmt: skip
        TrainConfig.model_validate({"objective": {"name": objective},
                                    "model": {"name": "convnet-tiny", **model},
                                    "privacy": {"epsilon": 8}})  # fmt: skip


@pytest.mark.parametrize("epsilon", [0, -1.0, float("inf"), float("nan"), "eight", None, True])
def test_bad_epsilon_is_refused_naming_the_value(epsilon):
    with pytest.raises(ValueError, match=r"privacy\.epsilon must be a"):
        tiny_config(privacy={"epsilon": epsilon})


def test_bad_delta_and_clipping_norm_are_refused():
    with pytest.raises(ValueError, match=r"privacy\.delta must be in \(0, 1\)"):
        tiny_config(privacy={"epsilon": 8, "delta": 1.5})
    with pytest.raises(ValueError, match=r"privacy\.max_grad_norm must be"):
        tiny_config(privacy={"epsilon": 8, "max_grad_norm": 0})


def test_configs_without_privacy_keep_their_run_keys():
    # TrainConfig().key() before the privacy field existed (commit c0b45f3).
    assert TrainConfig().key() == "49175550d1df1264"
    # (test_config checks that the key hashes the dump without a null privacy)
    private = tiny_config(privacy={"epsilon": 8})
    assert private.key() != tiny_config().key()
    assert tiny_config(privacy={"epsilon": 4}).key() != private.key()


def test_an_unreachable_epsilon_is_refused_naming_one_that_is_reached():
    """Opacus' search for 1e-6 ends at sigma 40, where the RDP accountant reports a negative
    epsilon (its bound broke down); the run would record it as spent. Refused instead, with
    the smallest epsilon the accountant reaches there, which calibrates to a positive spend."""
    from mnemoscope.training.privacy import Accounting, PrivacyConfig, Unreachable

    with pytest.raises(Unreachable, match=r"epsilon <= 0; the smallest epsilon .* about ") as no:
        Accounting.calibrate(PrivacyConfig(epsilon=1e-6), 64, 32, 2)
    floor = float(str(no.value).split("about ")[1].split(":")[0])
    reached = Accounting.calibrate(PrivacyConfig(epsilon=floor), 64, 32, 2)
    assert 0 < reached.epsilon(reached.steps) <= floor
