"""Mixed-methods integration: join the questionnaire and interview strands.

* :func:`joint_display` - statistics by themes: scores of cases with and without coded material on
  each theme, with a Mann-Whitney U test and the rank-biserial correlation, overall and by site;
* :func:`case_matrix` - the case-level mixed-methods matrix: each participant's scores beside the
  framework-matrix summaries of their interview, theme by theme;
* :func:`triads` - linked service user / carer / care coordinator views side by side, with the
  linked care plan's audit result and where the three accounts agree or differ.

Results never carry interview text other than the summaries researchers wrote when charting.
"""

from recoverystudy.integrate.joint import JointDisplay as JointDisplay
from recoverystudy.integrate.joint import joint_display as joint_display
from recoverystudy.integrate.matrix import CaseMatrix as CaseMatrix
from recoverystudy.integrate.matrix import case_matrix as case_matrix
from recoverystudy.integrate.triad import Triads as Triads
from recoverystudy.integrate.triad import triads as triads

__all__ = ["CaseMatrix", "JointDisplay", "Triads", "case_matrix", "joint_display", "triads"]
