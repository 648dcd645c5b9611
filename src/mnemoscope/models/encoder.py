"""The contract every backbone in ``mnemoscope.models`` satisfies.

An encoder maps (already normalized) images to one embedding vector per image, the
representation ``h`` of the encoder-projector pair ``g(h(x))`` in paper 003 (section 2,
fig. 2a). Besides ``forward`` it exposes its intermediate stages as *taps* through a
generator, so a caller can read, say, ``layer2`` and stop: nothing after the last tap it
asks for is ever computed.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch import Tensor, nn


class Encoder(nn.Module):
    """Base class of the backbones.

    Subclasses set ``tap_names`` (the names ``forward_taps`` yields, in the order it yields
    them, ending with ``"embedding"``) and ``embedding_dim``, and implement ``forward``
    (images -> ``[B, embedding_dim]``) and ``forward_taps``. ``input_size``: the (H, W) an
    encoder of a fixed input size takes (a ViT: its patch grid); None (any size) by default.
    """

    tap_names: tuple[str, ...]
    embedding_dim: int
    input_size: tuple[int, int] | None = None

    def forward_taps(self, x: Tensor) -> Iterator[tuple[str, Tensor]]:
        """Yield ``(tap_name, activation)`` pairs in computation order, ``"embedding"`` last.

        Activations are yielded as computed (unflattened, in the autocast dtype). The
        generator does the work lazily, so the consumer decides where the forward pass ends.
        """
        raise NotImplementedError
