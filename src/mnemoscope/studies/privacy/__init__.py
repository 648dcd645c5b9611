"""Differential privacy and memorization (paper 002 section 4.6, table 5): ``sslmem-privacy``.

``Config`` (``study: sslmem-privacy``) and ``run(config, out)``: the SSLMem study with one
DP-SGD variant of its training per target epsilon (``training.privacy``), epsilon = infinity
being the study's own training; per epsilon, SSLMem on S_C and probe accuracy.
"""

from mnemoscope.studies.privacy.config import Config
from mnemoscope.studies.privacy.study import run

__all__ = ["Config", "run"]
