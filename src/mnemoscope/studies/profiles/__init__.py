"""The memorization-profiles study of paper 001 (Sadrtdinov et al., "On the Memorization
Properties of Contrastive Learning"): recognition of tracked training images over epochs for
supervised, SimCLR and random-label training, memorization profiles, their binomial null and
epoch alignment, with the paper's figures 1-4, 6 and 7.

    mnemoscope run configs/profiles-quick.yaml --out runs/profiles-quick
"""

from mnemoscope.studies.papers import PROFILES
from mnemoscope.studies.profiles.claims import CLAIMS
from mnemoscope.studies.profiles.config import Config
from mnemoscope.studies.profiles.figures import combined_figures
from mnemoscope.studies.profiles.report import CAPTIONS, PER_IMAGE_TABLES
from mnemoscope.studies.profiles.study import run, study_specs
from mnemoscope.studies.profiles.summary import ProfilesSummary
from mnemoscope.studies.record import Study

STUDY = Study(
    name="profiles",
    paper=PROFILES,
    config=Config,
    run=run,
    specs=study_specs,
    summary=ProfilesSummary,
    claims=CLAIMS,
    captions=CAPTIONS,
    key_figure="fig2_binomial",
    per_image_tables=PER_IMAGE_TABLES,
    quick_config="profiles-quick",
    demo_config="profiles-demo",
    quick_demo=True,
    combined_figures=combined_figures,
    repeated_key_figure="seeds_fig2_mae",
)
