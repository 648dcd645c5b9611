"""The projector ``g`` on top of the encoder (paper 003, section 2 and fig. 2a).

Paper 003 uses "an MLP with one hidden layer" (hidden width up to 65,536 and MLP
normalization 'none' in appendix F, table 6); paper 001's SimCLR head projects to 128
dimensions. With no hidden layer the projector is a single linear layer, i.e. the linear
classifier of supervised training.
"""

from __future__ import annotations

from lightly.models.modules.heads import ProjectionHead
from torch import nn

PROJECTOR_NORMS = ("batchnorm", "none")


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
