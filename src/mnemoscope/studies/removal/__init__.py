"""Does memorization matter? Paper 002's removal (fig. 3) and coreset (table 17) experiments:
``study: sslmem-removal``, ranked by a nested SSLMem study.

    mnemoscope run configs/sslmem-removal-quick.yaml --out runs/removal-quick
"""

from mnemoscope.studies.papers import SSLMEM
from mnemoscope.studies.record import Study
from mnemoscope.studies.removal.claims import CLAIMS
from mnemoscope.studies.removal.config import Config
from mnemoscope.studies.removal.report import CAPTIONS, PER_IMAGE_TABLES
from mnemoscope.studies.removal.study import run, study_specs
from mnemoscope.studies.removal.summary import RemovalSummary

STUDY = Study(
    name="sslmem-removal",
    paper=SSLMEM,
    config=Config,
    run=run,
    specs=study_specs,
    summary=RemovalSummary,
    claims=CLAIMS,
    captions=CAPTIONS,
    key_figure="sslmem_removal_fig3",
    per_image_tables=PER_IMAGE_TABLES,
    quick_config="sslmem-removal-quick",
    quick_demo=True,
)
