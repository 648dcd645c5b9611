"""Where runs train: ``train_all(specs, root, backend)`` on this process, local worker
processes, a Ray cluster or SLURM, and ``plan`` (what a config will train, and its cost).

Studies build ``RunSpec``s and read run directories; a backend only moves spec JSON to a worker
and the worker calls ``training.train`` on it, so every backend shares its guarantees: a
finished run is never retrained, a partial one resumes from its last checkpoint on whichever
worker picks it up, and results travel as run directories on storage every worker sees.
"""

from mnemoscope.execution.backends import (
    Backend,
    Local,
    StorageNotShared,
    check_shared_storage,
    make_backend,
    train_all,
)
from mnemoscope.execution.config import ExecutionConfig

__all__ = [
    "Backend",
    "ExecutionConfig",
    "Local",
    "StorageNotShared",
    "check_shared_storage",
    "make_backend",
    "train_all",
]
