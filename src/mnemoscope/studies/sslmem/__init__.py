"""The SSLMem study (paper 002): is a point memorized by the encoders that trained on it?

``STUDY`` is its record: ``Config`` (``study: sslmem``), ``run(config, frame)`` (``study``), the
claims of paper 002 it measures (``claims``) and what the report shows of it (``report``).
"""

from mnemoscope.studies.papers import SSLMEM
from mnemoscope.studies.record import Study
from mnemoscope.studies.sslmem import report
from mnemoscope.studies.sslmem.claims import CLAIMS
from mnemoscope.studies.sslmem.config import Config
from mnemoscope.studies.sslmem.figures import combined_figures
from mnemoscope.studies.sslmem.study import run, study_specs
from mnemoscope.studies.sslmem.summary import SSLMemSummary

STUDY = Study(
    name="sslmem",
    paper=SSLMEM,
    config=Config,
    run=run,
    specs=study_specs,
    summary=SSLMemSummary,
    claims=CLAIMS,
    captions=report.CAPTIONS,
    key_figure="sslmem_fig2c_distributions",
    per_image_tables=report.PER_IMAGE_TABLES,
    quick_config="sslmem-quick",
    demo_config="sslmem-demo",
    quick_demo=True,
    sections=report.sections,
    combined_figures=combined_figures,
    repeated_key_figure="seeds_sslmem_scores",
)
