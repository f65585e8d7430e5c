"""recoverystudy: mixed-methods research on recovery-focused mental-health care planning.

Score questionnaires from instrument definitions kept as data, compare sites with the statistics a
reviewer expects, run the Framework Method on transcripts, audit care plans, and join the two strands.

>>> import recoverystudy as rs
>>> isinstance(rs.__version__, str)
True

Importing the package stays light: matplotlib, python-docx and the command-line library are only
imported by the functions that need them.
"""

from __future__ import annotations

from recoverystudy._version import __version__ as __version__

# --- foundation: errors (every error subclasses errors.RecoveryStudyError) -----------------------------
from recoverystudy import errors as errors

# --- quant/: questionnaires, scoring, reliability, example data ---------------------------------------
# (each part's names are re-exported explicitly: `from x import y as y`)
from recoverystudy.quant.examples import list_examples as list_examples
from recoverystudy.quant.examples import load_example as load_example
from recoverystudy.quant.instruments import Instrument as Instrument
from recoverystudy.quant.instruments import list_instruments as list_instruments
from recoverystudy.quant.instruments import load_instrument as load_instrument
from recoverystudy.quant.scoring import ScoreResult as ScoreResult
from recoverystudy.quant.scoring import score as score
from recoverystudy.quant.reliability import Reliability as Reliability
from recoverystudy.quant.reliability import reliability as reliability
from recoverystudy.quant.surveys import read_survey as read_survey
from recoverystudy.quant.imputation import Imputations as Imputations
from recoverystudy.quant.imputation import impute as impute

# --- stats/: cross-site statistics -----------------------------------------------------------------
from recoverystudy.stats.correlate import Correlations as Correlations
from recoverystudy.stats.correlate import correlate as correlate
from recoverystudy.stats.country import CountryEffect as CountryEffect
from recoverystudy.stats.country import country_effect as country_effect
from recoverystudy.stats.multilevel import SiteModel as SiteModel
from recoverystudy.stats.multilevel import site_model as site_model
from recoverystudy.stats.compare import SiteComparison as SiteComparison
from recoverystudy.stats.compare import SiteComparisons as SiteComparisons
from recoverystudy.stats.compare import compare_sites as compare_sites
from recoverystudy.stats.effsize import EffectSize as EffectSize
from recoverystudy.stats.effsize import f_to_epsilon2 as f_to_epsilon2
from recoverystudy.stats.effsize import f_to_eta2 as f_to_eta2
from recoverystudy.stats.effsize import f_to_omega2 as f_to_omega2
from recoverystudy.stats.posthoc import PairwiseComparisons as PairwiseComparisons
from recoverystudy.stats.posthoc import dunn as dunn
from recoverystudy.stats.posthoc import games_howell as games_howell
from recoverystudy.stats.posthoc import tukey_hsd as tukey_hsd
from recoverystudy.stats.pooling import PooledEstimates as PooledEstimates
from recoverystudy.stats.invariance import Invariance as Invariance
from recoverystudy.stats.invariance import invariance as invariance
from recoverystudy.stats.pooling import pool as pool

# --- qual/: Framework Method workspace -------------------------------------------------------------
from recoverystudy.qual.codebook import Codebook as Codebook
from recoverystudy.qual.codebook import list_codebooks as list_codebooks
from recoverystudy.qual.codebook import load_codebook as load_codebook
from recoverystudy.qual.documents import DocumentText as DocumentText
from recoverystudy.qual.documents import read_document as read_document
from recoverystudy.qual.project import Project as Project

# --- audit/: care-plan audit -----------------------------------------------------------------------
from recoverystudy.audit import AuditReport as AuditReport
from recoverystudy.audit import CarePlanAudit as CarePlanAudit
from recoverystudy.audit import audit_care_plans as audit_care_plans
from recoverystudy.audit import load_rubric as load_rubric
from recoverystudy.audit import read_plan_metadata as read_plan_metadata
from recoverystudy.audit import read_team_metadata as read_team_metadata
from recoverystudy.audit import split_sections as split_sections
from recoverystudy.audit import wilson_interval as wilson_interval

# --- privacy/: redaction, pseudonyms, small-number suppression -------------------------------------
from recoverystudy.privacy.disclosure import suppress_small_counts as suppress_small_counts
from recoverystudy.privacy.pseudonym import load_secret as load_secret
from recoverystudy.privacy.pseudonym import pseudonymise as pseudonymise
from recoverystudy.privacy.redact import Redaction as Redaction
from recoverystudy.privacy.redact import redact as redact

# --- synthetic/: the synthetic six-site study -----------------------------------------------------
from recoverystudy import synthetic as synthetic

# --- integrate/: joint displays of the two strands ------------------------------------------------
from recoverystudy.integrate import CaseMatrix as CaseMatrix
from recoverystudy.integrate import JointDisplay as JointDisplay
from recoverystudy.integrate import Triads as Triads
from recoverystudy.integrate import case_matrix as case_matrix
from recoverystudy.integrate import joint_display as joint_display
from recoverystudy.integrate import triads as triads
from recoverystudy.integrate.imputed import MISensitivity as MISensitivity
from recoverystudy.integrate.imputed import mi_analyse as mi_analyse
from recoverystudy.integrate.imputed import mi_sensitivity as mi_sensitivity


def __getattr__(name: str):
    """``rs.studio`` is loaded on first use, so ``import recoverystudy`` never loads the web server.

    ``rs.studio(proj, coder="AB")`` starts a coding studio (the ``recoverystudy.studio`` package is callable).
    """
    if name == "studio":
        import sys

        import recoverystudy.studio  # noqa: F401 - the import binds the sub-package on this module

        return sys.modules["recoverystudy.studio"]
    raise AttributeError(f"module 'recoverystudy' has no attribute {name!r}")

__all__ = [
    "__version__",
    # coding studio
    "studio",
    # synthetic study
    "synthetic",
    "errors",
    # instruments and scoring
    "Instrument",
    "ScoreResult",
    "list_examples",
    "list_instruments",
    "load_example",
    "load_instrument",
    "read_survey",
    "Imputations",
    "impute",
    "score",
    "Reliability",
    "reliability",
    # qualitative workspace
    "Codebook",
    "DocumentText",
    "Project",
    "list_codebooks",
    "load_codebook",
    "read_document",
    # audit
    "AuditReport",
    "CarePlanAudit",
    "Redaction",
    "audit_care_plans",
    "load_rubric",
    "load_secret",
    "pseudonymise",
    "read_plan_metadata",
    "read_team_metadata",
    "redact",
    "split_sections",
    "suppress_small_counts",
    "wilson_interval",
    # comparisons
    "Correlations",
    "CountryEffect",
    "SiteModel",
    "correlate",
    "country_effect",
    "site_model",
    "SiteComparison",
    "SiteComparisons",
    "compare_sites",
    "EffectSize",
    "f_to_eta2",
    "f_to_omega2",
    "f_to_epsilon2",
    "PairwiseComparisons",
    "dunn",
    "games_howell",
    "tukey_hsd",
    "PooledEstimates",
    "pool",
    "Invariance",
    "invariance",
    # mixed-methods integration
    "CaseMatrix",
    "JointDisplay",
    "Triads",
    "case_matrix",
    "MISensitivity",
    "mi_analyse",
    "mi_sensitivity",
    "joint_display",
    "triads",
]
