"""The memorization-profiles study of paper 001 (Sadrtdinov et al., "On the Memorization
Properties of Contrastive Learning"): recognition of tracked training images over epochs for
supervised, SimCLR and random-label training, memorization profiles, their binomial null and
epoch alignment, with the paper's figures 1-4, 6 and 7.

    mnemoscope run configs/profiles-quick.yaml --out runs/profiles-quick
"""

from mnemoscope.studies.profiles.config import Config, ParadigmSpec
from mnemoscope.studies.profiles.figures import draw_figures
from mnemoscope.studies.profiles.study import run

__all__ = ["Config", "ParadigmSpec", "draw_figures", "run"]
