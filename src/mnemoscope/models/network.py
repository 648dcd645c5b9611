"""``Network``: input normalization -> encoder -> projector, with named taps.

The encoder-projector pair of paper 003 (section 2, fig. 2a): ``f(x) = g(h(x))`` where ``h``
is the encoder (its output is the ``embedding``) and ``g`` the projector (an MLP with one
hidden layer, or a single linear layer for a supervised classifier). Memorization
measurements read activations at several depths (paper 003 fig. 2a probes every stage and
the projector's hidden layer), so ``features`` returns any set of taps from a single pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch.nn.functional as F
from lightly.models.modules.heads import DINOProjectionHead, ProjectionHead
from torch import Tensor, nn

from mnemoscope.models.encoder import Encoder
from mnemoscope.models.normalization import InputNormalization
from mnemoscope.models.projector import projector_dims


class Network(nn.Module):
    """Normalization, encoder and projector; build one with ``mnemoscope.models.build``.

    Attributes:
        normalize: ``InputNormalization`` holding ``mean``/``std`` buffers.
        encoder: the backbone ``h``; ``embed(x)`` is its output.
        projector: lightly ``ProjectionHead`` ``g`` (an MLP, or DINO's head); ``forward(x)`` is
            its output.
        tap_names: every name ``features`` accepts, in computation order.
        embedding_dim: width of the ``embedding`` tap.
        num_outputs: width of the output (number of classes, or projection dim).
        projector_hidden: width of the projector's hidden layer (DINO head: its bottleneck),
            None without one.
        arch: the model name given to ``build``.
        config: the ``build`` keyword arguments; ``build(**net.config)`` rebuilds the
            architecture (JSON-serializable, for checkpoint metadata).
    """

    def __init__(
        self,
        encoder: Encoder,
        projector: ProjectionHead,
        *,
        mean: Sequence[float],
        std: Sequence[float],
        arch: str,
        config: dict[str, Any],
    ) -> None:
        super().__init__()
        self.normalize = InputNormalization(mean, std)
        self.encoder = encoder
        self.projector = projector
        self.arch = arch
        self.config = dict(config)
        self.embedding_dim = encoder.embedding_dim
        hidden_width, outputs = projector_dims(projector)
        self.num_outputs: int = outputs
        self.projector_hidden: int | None = hidden_width
        hidden = hidden_width is not None
        self.tap_names: tuple[str, ...] = (
            encoder.tap_names + (("projector_hidden",) if hidden else ()) + ("output",)
        )

    def forward(self, x: Tensor) -> Tensor:
        """Images in [0, 1], ``[B, C, H, W]`` -> logits or projections ``[B, num_outputs]``."""
        return self.projector(self.encoder(self._input(x)))

    def embed(self, x: Tensor) -> Tensor:
        """Images in [0, 1] -> encoder output ``[B, embedding_dim]`` (the ``embedding`` tap)."""
        return self.encoder(self._input(x))

    def check_images(self, shape: Sequence[int]) -> None:
        """Refuse images of ``shape`` (``[B, C, H, W]``) whose height and width the encoder
        cannot take: a ViT's patch grid fixes its input size (``Encoder.input_size``). A
        ``ValueError`` naming both sizes, instead of timm's bare ``AssertionError``."""
        size = self.encoder.input_size
        if size is None or len(shape) != 4 or tuple(shape[-2:]) == size:
            return
        patch = self.config.get("patch_size")
        grid = f" cut into {patch} x {patch} patches" if patch is not None else ""
        raise ValueError(
            f"model {self.arch!r} was built for {size[0]} x {size[1]} images (image_size "
            f"{self.config.get('image_size')}{grid}), got images of {shape[-2]} x {shape[-1]} "
            f"pixels (H x W): resize them to {size[0]} x {size[1]} (dataset option size)"
        )

    def _input(self, x: Tensor) -> Tensor:
        """``x`` checked (``check_images``) and normalized: how images enter the network."""
        self.check_images(x.shape)
        return self.normalize(x)

    def features(
        self, x: Tensor, taps: Sequence[str], *, flatten: bool = True
    ) -> dict[str, Tensor]:
        """Flattened ``[B, D]`` activations for each name in ``taps``, from one forward pass
        (``flatten=False``: as the layer gives them, e.g. ``[B, C, H, W]`` for a feature map).

        The pass stops right after the last requested tap, so asking only for ``embedding``
        never runs the projector. Activations are returned as computed (e.g. bfloat16 under
        autocast), in the order of ``taps``.
        """
        if isinstance(taps, str):
            raise TypeError(f"taps must be a sequence of tap names, not a string: use [{taps!r}]")
        self._check_taps(taps)
        wanted = set(taps)
        found: dict[str, Tensor] = {}
        if wanted:
            for name, activation in self._forward_taps(x):
                if name in wanted:
                    found[name] = activation.flatten(1) if flatten else activation
                    if len(found) == len(wanted):
                        break  # closing the generator skips the rest of the network
        return {name: found[name] for name in taps}

    def _check_taps(self, taps: Sequence[str]) -> None:
        for name in taps:
            if name in self.tap_names:
                continue
            if name == "projector_hidden":
                raise ValueError(
                    f"tap 'projector_hidden' needs a projector with a hidden layer, but this "
                    f"{self.arch!r} network was built with projector_hidden=None (its projector "
                    f"is a single linear layer); taps: {', '.join(self.tap_names)}"
                )
            raise ValueError(
                f"unknown tap {name!r} for model {self.arch!r}; "
                f"its taps are: {', '.join(self.tap_names)}"
            )

    def _forward_taps(self, x: Tensor) -> Iterator[tuple[str, Tensor]]:
        """The whole network as a lazy sequence of ``(tap_name, activation)``."""
        for name, activation in self.encoder.forward_taps(self._input(x)):
            yield name, activation
        hidden = activation  # the encoder yields "embedding" last
        if isinstance(self.projector, DINOProjectionHead):
            # DINOProjectionHead.forward, split at its l2-normalized bottleneck.
            hidden = F.normalize(self.projector.layers(hidden), dim=-1, p=2)
            yield "projector_hidden", hidden
            yield "output", self.projector.last_layer(hidden)
            return
        layers = self.projector.layers
        if self.projector_hidden is not None:
            for layer in layers[:-1]:
                hidden = layer(hidden)
            yield "projector_hidden", hidden
        yield "output", layers[-1](hidden)
