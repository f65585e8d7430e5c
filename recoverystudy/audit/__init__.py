"""Care-plan audit for NHS trusts: rubric, pre-rating with evidence, review, compliance, reports.

>>> from recoverystudy.audit import audit_care_plans, load_rubric
>>> load_rubric().id
'care-plan-audit'
"""

from recoverystudy.audit.compliance import ComplianceTable as ComplianceTable
from recoverystudy.audit.compliance import wilson_interval as wilson_interval
from recoverystudy.audit.inputs import read_plan_metadata as read_plan_metadata
from recoverystudy.audit.inputs import read_team_metadata as read_team_metadata
from recoverystudy.audit.report import AuditReport as AuditReport
from recoverystudy.audit.report import write_audit_report as write_audit_report
from recoverystudy.audit.review import CarePlanAudit as CarePlanAudit
from recoverystudy.audit.review import ReviewerAgreement as ReviewerAgreement
from recoverystudy.audit.review import audit_care_plans as audit_care_plans
from recoverystudy.audit.rubric import RATINGS as RATINGS
from recoverystudy.audit.rubric import Rubric as Rubric
from recoverystudy.audit.rubric import list_rubrics as list_rubrics
from recoverystudy.audit.rubric import load_rubric as load_rubric
from recoverystudy.audit.split import split_sections as split_sections

__all__ = [
    "RATINGS",
    "AuditReport",
    "CarePlanAudit",
    "ComplianceTable",
    "ReviewerAgreement",
    "Rubric",
    "audit_care_plans",
    "list_rubrics",
    "load_rubric",
    "read_plan_metadata",
    "read_team_metadata",
    "split_sections",
    "wilson_interval",
    "write_audit_report",
]
