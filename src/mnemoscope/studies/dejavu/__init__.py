"""The Déjà Vu study (paper 002 section 4.5, table 4; Meehan et al. 2023): SSLMem beside Déjà
Vu memorization for several SSL methods, ``study: sslmem-dejavu``.

    mnemoscope run configs/sslmem-dejavu-quick.yaml --out runs/dejavu-quick
"""

from mnemoscope.studies.dejavu.claims import CLAIMS
from mnemoscope.studies.dejavu.config import Config
from mnemoscope.studies.dejavu.study import run, study_specs
from mnemoscope.studies.dejavu.summary import DejaVuSummary
from mnemoscope.studies.papers import SSLMEM
from mnemoscope.studies.record import Caption, Study

STUDY = Study(
    name="sslmem-dejavu",
    paper=SSLMEM,
    config=Config,
    run=run,
    specs=study_specs,
    summary=DejaVuSummary,
    claims=CLAIMS,
    captions={"sslmem_dejavu_table4": Caption(
        "SSLMem and Déjà Vu memorization (Meehan et al. 2023) per SSL method with the probe "
        "accuracy of A, error bars one standard deviation over seeds; right: A's scored images "
        "by group (memorized = A guesses the label from the periphery and B does not)",
        "paper 002, table 4")},  # fmt: skip
    key_figure="sslmem_dejavu_table4",
    per_image_tables=frozenset({"sslmem_dejavu_images", "sslmem_dejavu_seeds"}),
    quick_config="sslmem-dejavu-quick",
)
