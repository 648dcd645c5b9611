"""Does memorization matter? Paper 002's removal (fig. 3) and coreset (table 17) experiments.

``Config`` (``study: sslmem-removal``) and ``run(config, out)``; ``draw_figures(run_dir)``
redraws the figures of a finished run from its stored tables.
"""

from mnemoscope.studies.removal.config import Config
from mnemoscope.studies.removal.figures import draw_figures
from mnemoscope.studies.removal.study import run

__all__ = ["Config", "draw_figures", "run"]
