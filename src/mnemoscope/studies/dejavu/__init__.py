"""The Déjà Vu study (paper 002 section 4.5, table 4; Meehan et al. 2023): SSLMem beside Déjà
Vu memorization for several SSL methods.

``Config`` (``study: sslmem-dejavu``) and ``run(config, out)``; ``draw_figures(run_dir)``
redraws the figure of a finished run from its stored tables.
"""

from mnemoscope.studies.dejavu.config import Config
from mnemoscope.studies.dejavu.figures import draw_figures
from mnemoscope.studies.dejavu.study import run

__all__ = ["Config", "draw_figures", "run"]
