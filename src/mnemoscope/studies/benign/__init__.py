"""The benign-memorization study of paper 003 (Anagnostidis, Bachmann, Noci and Hofmann, "The
Curious Case of Benign Memorization", ICLR 2023): networks trained on random labels with and
without data augmentation, probed per layer by kNN against clean and random labels, with the
benign/malign verdict of definition 4.1, normalized invariance (eq. 2), the augmentation and
capacity sweeps (figs. 6, 8-13, table 3) and the toy model of appendix E (fig. 14).

    mnemoscope run configs/benign-quick.yaml --out runs/benign-quick
"""

from mnemoscope.studies.benign.claims import CLAIMS
from mnemoscope.studies.benign.config import Config
from mnemoscope.studies.benign.figures import combined_figures
from mnemoscope.studies.benign.report import CAPTIONS, PER_IMAGE_TABLES
from mnemoscope.studies.benign.study import run, study_specs
from mnemoscope.studies.benign.summary import BenignSummary
from mnemoscope.studies.papers import BENIGN
from mnemoscope.studies.record import Study

STUDY = Study(
    name="benign",
    paper=BENIGN,
    config=Config,
    run=run,
    specs=study_specs,
    summary=BenignSummary,
    claims=CLAIMS,
    captions=CAPTIONS,
    key_figure="benign_fig4_probes",
    per_image_tables=PER_IMAGE_TABLES,
    quick_config="benign-quick",
    demo_config="benign-demo",
    quick_demo=True,
    combined_figures=combined_figures,
    repeated_key_figure="seeds_fig4_probes",
)
