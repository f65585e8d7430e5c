"""A synthetic six-site study for teaching, testing and the demo (all data invented).

``six_site_study(seed=0, scale=1.0)`` returns a :class:`SixSiteStudy`: six pseudonymous sites (four in
England, two in Wales), about 450 service users (RSA person version, Empowerment Scale, STAR-P, WAI-SR)
and 200 care coordinators (RSA provider version) with realistic missingness and non-answer codes, about
120 interview transcripts with speaker turns and planted themes, and 33 care plans of varied quality.

The Empowerment Scale and STAR-P keys are not established in public sources, so the synthetic answers
were generated with SYNTHETIC keys shipped in ``recoverystudy/synthetic/keys/`` (labelled
``synthetic: true``).  They are not the published keys; ``study.key_path("star-p")`` gives the file.

>>> import recoverystudy as rs
>>> rs.synthetic.six_site_study(scale=0.2)
SixSiteStudy(seed=0, scale=0.2: 6 sites, 90 service users, 40 care coordinators, 30 interviews, 7 care plans; SYNTHETIC data)
"""

from recoverystudy.synthetic.care_plans import fake_nhs_number as fake_nhs_number
from recoverystudy.synthetic.care_plans import nhs_number_check_digit as nhs_number_check_digit
from recoverystudy.synthetic.review import simulated_review as simulated_review
from recoverystudy.synthetic.review import simulated_second_coder as simulated_second_coder
from recoverystudy.synthetic.sites import site_table as site_table
from recoverystudy.synthetic.study import SixSiteStudy as SixSiteStudy
from recoverystudy.synthetic.study import six_site_study as six_site_study

__all__ = ["SixSiteStudy", "fake_nhs_number", "nhs_number_check_digit", "simulated_review", "simulated_second_coder",
           "site_table", "six_site_study"]
