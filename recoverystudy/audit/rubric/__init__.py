"""Audit rubrics: criteria, section kinds and evidence rules kept as YAML, validated on loading.

The rubric is in three parts, each a module a reader can take in at one sitting:

* :mod:`~recoverystudy.audit.rubric.matching` - the negation matcher (does a cue govern a match?);
* :mod:`~recoverystudy.audit.rubric.schema` - the rating scale, evidence rules, criteria, :class:`Rubric`;
* :mod:`~recoverystudy.audit.rubric.loading` - reading a YAML rubric and validating every field;
* :mod:`~recoverystudy.audit.rubric.rules` - each rule compiled once into a (picklable) function.

The schema is documented in ``docs/audit-rubric-schema.md``.  Every problem raises
:class:`~recoverystudy.errors.RubricError` naming the file, the criterion (or evidence rule) and
what is wrong.
"""

from recoverystudy.audit.rubric.loading import list_rubrics as list_rubrics
from recoverystudy.audit.rubric.loading import load_rubric as load_rubric
from recoverystudy.audit.rubric.matching import DEFAULT_NEGATION as DEFAULT_NEGATION
from recoverystudy.audit.rubric.matching import Negation as Negation
from recoverystudy.audit.rubric.schema import EVIDENCE_KINDS as EVIDENCE_KINDS
from recoverystudy.audit.rubric.schema import PLAN_ATTRIBUTES as PLAN_ATTRIBUTES
from recoverystudy.audit.rubric.schema import RATINGS as RATINGS
from recoverystudy.audit.rubric.schema import RULE_ORDER as RULE_ORDER
from recoverystudy.audit.rubric.schema import Criterion as Criterion
from recoverystudy.audit.rubric.schema import EvidenceRule as EvidenceRule
from recoverystudy.audit.rubric.schema import Rubric as Rubric

__all__ = ["RATINGS", "Criterion", "EvidenceRule", "Negation", "Rubric", "list_rubrics", "load_rubric"]
