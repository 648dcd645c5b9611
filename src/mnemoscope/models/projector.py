"""The projector ``g`` on top of the encoder (paper 003, section 2 and fig. 2a).

Paper 003 uses "an MLP with one hidden layer" (hidden width up to 65,536 and MLP
normalization 'none' in appendix F, table 6); paper 001's SimCLR head projects to 128
dimensions. With no hidden layer the projector is a single linear layer, i.e. the linear
classifier of supervised training.

Two kinds (``PROJECTOR_KINDS``): ``mlp``, the MLP above, used by every method but DINO, and
``dino``, lightly's ``DINOProjectionHead`` (Caron et al. 2021, section 3.1): a 3-layer MLP (GELU)
down to a bottleneck, l2 normalization, and a weight-normalized linear layer to K outputs,

    g(h) = W_K normalize(MLP(h)),    W_K = g_K v / ||v||   (weight norm, g_K fixed to 1).

Its ``projector_hidden`` tap is the l2-normalized bottleneck, the input of the last layer.
"""

from __future__ import annotations

import warnings

from lightly.models.modules.heads import DINOProjectionHead, ProjectionHead
from torch import nn

PROJECTOR_NORMS = ("batchnorm", "none")
PROJECTOR_KINDS = ("mlp", "dino")


def build_projector(
    embedding_dim: int, num_outputs: int, hidden_dim: int | None, norm: str
) -> ProjectionHead:
    """Linear -> [BatchNorm1d] -> ReLU -> Linear, from ``embedding_dim`` to ``num_outputs``.

    ``hidden_dim`` None or 0 gives the single layer Linear(embedding_dim, num_outputs).
    The last module of ``.layers`` is always the output Linear; everything before it is the
    hidden layer (that is how ``Network`` reads the ``projector_hidden`` tap).
    """
    if norm not in PROJECTOR_NORMS:
        raise ValueError(f"projector_norm must be one of {PROJECTOR_NORMS}, got {norm!r}")
    if not hidden_dim:
        return ProjectionHead([(embedding_dim, num_outputs, None, None, True)])
    batch_norm = nn.BatchNorm1d(hidden_dim) if norm == "batchnorm" else None
    # lightly drops the hidden Linear's bias when BatchNorm follows (its shift makes it redundant).
    return ProjectionHead(
        [
            (embedding_dim, hidden_dim, batch_norm, nn.ReLU()),
            (hidden_dim, num_outputs, None, None),
        ]
    )


def build_dino_head(
    embedding_dim: int, num_outputs: int, hidden_dim: int | None, norm: str, bottleneck_dim: int
) -> DINOProjectionHead:
    """lightly's DINO head: ``hidden_dim`` wide (DINO: 2048), ``bottleneck_dim`` (256) and
    ``num_outputs`` = K (65,536); BatchNorm in the MLP only with ``norm="batchnorm"`` (DINO: none).
    The last layer's norm g is fixed to 1 (DINO's ``norm_last_layer``)."""
    if norm not in PROJECTOR_NORMS:
        raise ValueError(f"projector_norm must be one of {PROJECTOR_NORMS}, got {norm!r}")
    if not hidden_dim:
        raise ValueError(
            "the dino projector is a 3-layer MLP: give projector_hidden > 0 (DINO: 2048), "
            f"got {hidden_dim!r}"
        )
    if type(bottleneck_dim) is not int or bottleneck_dim < 1:  # bool is no width
        raise ValueError(f"projector_bottleneck must be an int >= 1, got {bottleneck_dim!r}")
    with warnings.catch_warnings():
        # lightly builds the last layer with torch.nn.utils.weight_norm, which torch deprecates.
        warnings.simplefilter("ignore", FutureWarning)
        return DINOProjectionHead(
            embedding_dim, hidden_dim, bottleneck_dim, num_outputs, batch_norm=norm == "batchnorm"
        )


def projector_dims(projector: nn.Module) -> tuple[int | None, int]:
    """(width of the ``projector_hidden`` tap or None, number of outputs) of a projector."""
    if isinstance(projector, DINOProjectionHead):
        return projector.layers[-1].out_features, projector.last_layer.out_features
    layers = projector.layers
    # The last module of an mlp projector is the output Linear; anything before is the hidden layer.
    return (layers[0].out_features if len(layers) > 1 else None), layers[-1].out_features
