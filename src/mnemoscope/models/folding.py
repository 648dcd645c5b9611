"""BatchNorm folded into the layer before it: a faster inference copy of a network.

In eval mode a BatchNorm is a fixed affine map per channel,

    BN(z) = gamma * (z - mu) / sqrt(var + eps) + beta,

so a conv (or linear) layer z = W x + b followed by it is one layer with weight s * W and bias
s * (b - mu) + beta, where s = gamma / sqrt(var + eps) (``torch.nn.utils.fusion``). The folded
network computes the same function up to float rounding (~1e-7 relative in fp32) and skips
one memory-bound pass over every activation it folds; at the small widths of the CPU-scale
convnets that pass costs 15-25% of a forward. Measurements that only run networks forward
(SSLMem's scorer) run folded copies.

Only pairs whose order of execution is known are folded: consecutive children of a plain
``nn.Sequential`` (its forward runs them in order) and the ``convN``/``bnN`` pairs of
torchvision's ResNet and its blocks. A BatchNorm without running statistics (it normalizes
with the batch's own statistics even in eval mode) is left alone. Linear -> BatchNorm1d is
folded as in an MLP head, on ``[B, features]`` activations (a BatchNorm1d over ``[B, C, L]``
after a Linear on L would normalize another axis; no mnemoscope model has one).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
import torchvision
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

# Modules whose forward applies bnN right after convN (torchvision ResNet, BasicBlock, Bottleneck).
_NUMBERED_PAIRS = {
    torchvision.models.ResNet: ("1",),
    torchvision.models.resnet.BasicBlock: ("1", "2"),
    torchvision.models.resnet.Bottleneck: ("1", "2", "3"),
}


def fold_batch_norms(network: nn.Module) -> nn.Module:
    """An eval-mode copy of ``network`` with every foldable BatchNorm merged into the conv or
    linear layer before it and replaced by ``nn.Identity`` (module names and taps unchanged).
    ``network`` itself is not modified.

    The copy's convolution weights are always channels_last (the format the engine trains in
    and oneDNN runs fastest): the memory format selects the convolution algorithm and with it
    the rounding, so a measurement of the copy depends on the weights only, not on whether the
    caller holds the network as trained (channels_last) or as loaded from a checkpoint.
    """
    _detach_weight_norms(network)
    folded = copy.deepcopy(network).eval()
    for parent in list(folded.modules()):
        for layer_name, norm_name in _pairs(parent):
            layer, norm = parent._modules[layer_name], parent._modules[norm_name]
            fused = _fuse(layer, norm)
            if fused is not None:
                parent._modules[layer_name] = fused
                parent._modules[norm_name] = nn.Identity()
    return folded.to(memory_format=torch.channels_last)


def _detach_weight_norms(network: nn.Module) -> None:
    """Recompute every ``weight_norm`` weight without autograd. ``torch.nn.utils.weight_norm``
    (lightly's DINO head) keeps its weight as an attribute computed from g and v with a graph,
    which ``copy.deepcopy`` refuses; it is derived (recomputed before every forward), so
    replacing it by the same values without a graph changes no result."""
    from torch.nn.utils.weight_norm import WeightNorm

    with torch.no_grad():
        for module in network.modules():
            for hook in module._forward_pre_hooks.values():
                if isinstance(hook, WeightNorm):
                    setattr(module, hook.name, hook.compute_weight(module))


def _pairs(parent: nn.Module) -> Iterator[tuple[str, str]]:
    """Names ``(layer, batch_norm)`` of the children of ``parent`` that run one after the other."""
    if type(parent).forward is nn.Sequential.forward:  # a subclass with its own forward is not
        names = list(parent._modules)
        yield from zip(names, names[1:], strict=False)
    elif type(parent) in _NUMBERED_PAIRS:
        for n in _NUMBERED_PAIRS[type(parent)]:
            yield f"conv{n}", f"bn{n}"


def _fuse(layer: nn.Module | None, norm: nn.Module | None) -> nn.Module | None:
    """The fused layer, or None when the pair cannot be folded."""
    if not isinstance(norm, nn.modules.batchnorm._BatchNorm) or norm.running_mean is None:
        return None
    if isinstance(layer, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
        return fuse_conv_bn_eval(layer, norm)
    if isinstance(layer, nn.Linear) and isinstance(norm, nn.BatchNorm1d):
        return fuse_linear_bn_eval(layer, norm)
    return None
