"""Image encoders with projectors, and the taps memorization measurements read.

``build(name, ...)`` returns a ``Network``: input normalization -> encoder -> projector
(the encoder-projector pair of paper 003, fig. 2a). ``Network.features(x, taps)`` reads
any of the stage outputs ``layer1``..``layer4``, the ``embedding``, the projector's hidden
layer and the ``output`` in one forward pass; ViTs add ``tokens``, the whole token map
paper 002 (appendix A) scores memorization on.
"""

from mnemoscope.models.encoder import Encoder
from mnemoscope.models.network import Network
from mnemoscope.models.registry import build, build_from_state, catalog, names

__all__ = ["Encoder", "Network", "build", "build_from_state", "catalog", "names"]
