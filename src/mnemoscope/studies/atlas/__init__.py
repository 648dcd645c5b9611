"""The memorization atlas (issue 23): every per-image memorization score on the same images and
the same models, against planted known answers, with its reliability, and membership inference.

K models per method, each on the shared images plus a seeded half of a candidate pool
(``pool``); from those models SSLMem and LayerMem (paper 002; Wang et al. 2024), Feldman &
Zhang's estimator, LiRA (Carlini et al. 2022), learning dynamics and Déjà Vu, each with its
per-image interval, split-half reliability over models (and views), the models it needs for a
target reliability, its agreement with every other score against their noise ceiling, and its
detection of each planted kind (``scores``). ``STUDY`` is its record.
"""

from mnemoscope.studies.atlas import report
from mnemoscope.studies.atlas.claims import CLAIMS
from mnemoscope.studies.atlas.config import Config
from mnemoscope.studies.atlas.study import rescore, run, study_specs
from mnemoscope.studies.atlas.summary import AtlasSummary
from mnemoscope.studies.papers import SSLMEM
from mnemoscope.studies.record import Study

STUDY = Study(
    name="atlas",
    paper=SSLMEM,
    config=Config,
    run=run,
    specs=study_specs,
    summary=AtlasSummary,
    claims=CLAIMS,
    captions=report.CAPTIONS,
    key_figure="atlas_agreement",
    per_image_tables=report.PER_IMAGE_TABLES,
    quick_config="atlas-quick",
    sections=report.sections,
    rescore=rescore,
)
