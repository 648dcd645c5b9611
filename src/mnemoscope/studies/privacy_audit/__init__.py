"""The privacy audit (issue 28): an empirical lower bound on epsilon beside the accountant's,
for every DP-SGD training, from canaries and the atlas's membership test.

K models per method and target epsilon (infinity: no DP-SGD), in pairs on complementary
halves of the canaries (the atlas's pool: ``pool``), LiRA on the canaries alone (the atlas's
membership score) and ``analysis.privacy_audit``'s Clopper-Pearson bound (Jagielski et al.,
NeurIPS 2020; Nasr et al., IEEE S&P 2021). ``STUDY`` is its record.
"""

from mnemoscope.studies.papers import DP_AUDIT
from mnemoscope.studies.privacy_audit import report
from mnemoscope.studies.privacy_audit.claims import CLAIMS
from mnemoscope.studies.privacy_audit.config import Config
from mnemoscope.studies.privacy_audit.study import run, study_specs
from mnemoscope.studies.privacy_audit.summary import AuditSummary
from mnemoscope.studies.record import Study

STUDY = Study(
    name="privacy-audit",
    paper=DP_AUDIT,
    config=Config,
    run=run,
    specs=study_specs,
    summary=AuditSummary,
    claims=CLAIMS,
    captions=report.CAPTIONS,
    key_figure=report.FIGURE,
    per_image_tables=frozenset({f"{report.TABLE}_canaries"}),
    quick_config="privacy-audit-quick",
    sections=report.sections,
)
