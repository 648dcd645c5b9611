"""BatchNorm folding: the folded copy computes the same function, every tap, and only folds
pairs whose order of execution is known."""

import pytest
import torch
from torch import nn

from mnemoscope import models
from mnemoscope.models.folding import fold_batch_norms


def trained_statistics(net: nn.Module, channels: int = 3, size: int = 32) -> nn.Module:
    """``net`` with non-trivial BatchNorm running statistics and affine parameters (a fresh
    BatchNorm is the identity map in eval mode, which would hide a wrong fold)."""
    generator = torch.Generator().manual_seed(0)
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            with torch.no_grad():
                module.weight.uniform_(0.5, 2.0, generator=generator)
                module.bias.uniform_(-0.5, 0.5, generator=generator)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.rand(16, channels, size, size, generator=generator) * 2 + 0.3)
    return net.eval()


def batch_norms(net: nn.Module) -> int:
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


@pytest.mark.parametrize("name", ["convnet-tiny", "resnet18", "resnet50"])
def test_folded_network_matches_every_tap_and_keeps_no_batch_norm(name):
    torch.manual_seed(0)
    net = trained_statistics(models.build(name, projector_hidden=64))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.train()  # the caller's mode must survive
    folded = fold_batch_norms(net)
    assert batch_norms(net) > 0 and batch_norms(folded) == 0
    assert net.training and not folded.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    net.eval()
    images = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = net.features(images, net.tap_names)
        found = folded.features(images, folded.tap_names)
    for tap in net.tap_names:
        scale = expected[tap].abs().max()
        torch.testing.assert_close(found[tap], expected[tap], rtol=0, atol=1e-5 * float(scale))


def test_folded_features_do_not_depend_on_the_callers_memory_format():
    """A network as trained (channels_last) and as loaded (contiguous) fold to copies that
    compute the same bits: probes must not depend on where the weights came from."""
    torch.manual_seed(0)
    net = trained_statistics(models.build("convnet-tiny", projector_hidden=64))
    as_trained = fold_batch_norms(net.to(memory_format=torch.channels_last))
    as_loaded = fold_batch_norms(net.to(memory_format=torch.contiguous_format))
    images = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        first = as_trained.features(images, net.tap_names)
        second = as_loaded.features(images, net.tap_names)
    assert all(torch.equal(first[tap], second[tap]) for tap in net.tap_names)


def test_vit_without_batch_norm_is_an_unchanged_eval_copy():
    torch.manual_seed(0)
    net = models.build("vit-tiny", projector_hidden=None).train()
    folded = fold_batch_norms(net)
    assert folded is not net and not folded.training
    expected = net.state_dict()
    assert all(torch.equal(expected[k], v) for k, v in folded.state_dict().items())


def test_batch_norm_without_running_statistics_is_not_folded():
    block = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4, track_running_stats=False))
    folded = fold_batch_norms(block)
    assert isinstance(folded[1], nn.BatchNorm2d)  # it normalizes by the batch, even in eval
    x = torch.rand(8, 1, 6, 6)
    torch.testing.assert_close(folded(x), block.eval()(x))


class Reversed(nn.Sequential):
    """A Sequential whose forward does not run its children in order."""

    def forward(self, x):
        for module in reversed(self):
            x = module(x)
        return x


def test_only_children_known_to_run_in_order_are_folded():
    torch.manual_seed(0)
    inner = Reversed(nn.Linear(5, 5), nn.BatchNorm1d(5))  # runs the BatchNorm, then Linear
    outer = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), inner)
    outer = trained_statistics_1d(outer)
    folded = fold_batch_norms(outer)
    assert isinstance(folded[1], nn.Identity)  # the plain Sequential's pair is folded
    assert isinstance(folded[2][1], nn.BatchNorm1d)  # the subclass's is not: BN runs first
    x = torch.randn(8, 3)
    torch.testing.assert_close(folded(x), outer(x), rtol=1e-5, atol=1e-5)


def trained_statistics_1d(net: nn.Module) -> nn.Module:
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(32, 3) * 3 + 1)
    return net.eval()


def test_a_dino_head_with_weight_norm_folds_and_matches():
    """lightly's DINO head keeps its weight-normed weight with an autograd graph, which deepcopy
    refuses: a freshly built (or loaded) DINO network must still fold."""
    net = models.build("convnet-tiny", in_channels=1, image_size=12, projector="dino",
                       projector_hidden=16, projector_bottleneck=8, num_outputs=32).eval()
    x = torch.rand(4, 1, 12, 12)
    folded = fold_batch_norms(net)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), rtol=1e-4, atol=1e-5)
