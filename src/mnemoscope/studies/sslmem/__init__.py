"""The SSLMem study (paper 002): is a point memorized by the encoders that trained on it?

``Config`` (``study: sslmem``) and ``run(config, out)``; ``draw_figures(run_dir)`` redraws the
figures of a finished run from its stored tables.
"""

from mnemoscope.studies.sslmem.config import Config
from mnemoscope.studies.sslmem.figures import draw_figures
from mnemoscope.studies.sslmem.study import run

__all__ = ["Config", "draw_figures", "run"]
