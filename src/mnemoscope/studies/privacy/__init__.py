"""Differential privacy and memorization (paper 002 section 4.6, table 5): ``sslmem-privacy``.

The SSLMem study with one DP-SGD variant of its training per target epsilon
(``training.privacy``), epsilon = infinity being the study's own training; per epsilon, SSLMem
on S_C and probe accuracy.
"""

from mnemoscope.studies.papers import SSLMEM
from mnemoscope.studies.privacy.claims import CLAIMS
from mnemoscope.studies.privacy.config import Config
from mnemoscope.studies.privacy.study import TABLE, run, study_specs
from mnemoscope.studies.privacy.summary import PrivacySummary
from mnemoscope.studies.record import Caption, Study

STUDY = Study(
    name="sslmem-privacy",
    paper=SSLMEM,
    config=Config,
    run=run,
    specs=study_specs,
    summary=PrivacySummary,
    claims=CLAIMS,
    captions={TABLE: Caption(
        "Mean normalized SSLMem of the candidates S_C (bootstrap interval) and probe accuracy "
        "of encoders trained with DP-SGD at each target epsilon; inf = ordinary training",
        "paper 002, table 5")},  # fmt: skip
    key_figure=TABLE,
    per_image_tables=frozenset(),
    quick_config="sslmem-privacy-quick",
)
