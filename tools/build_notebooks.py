"""Write the teaching notebooks in notebooks/ from the cell lists below.

The notebooks are the artefact users open; this script only keeps them consistent (same set-up cell,
no outputs).  Run ``python tools/build_notebooks.py`` after editing, then run the test suite, which
executes every notebook from a clean kernel.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent.parent / "notebooks"

SETUP_MD = """## Where the data are

The next cell says which folder holds the study files. If the folder does not exist yet, it is filled with
the **synthetic** six-site study (everything in it is invented), so this notebook runs anywhere.

**To use your own study:** change `DATA` to your folder. It needs the same layout:
`surveys/service_users.csv`, `surveys/care_coordinators.csv`, `interviews/*.txt` with `interviews/interviews.csv`,
and `care_plans/` with `care_plans/care_plans.csv` (see the README file in the synthetic folder).

Coloured boxes that start with a name ending in `Warning` are **notes from the library**, not errors: they
say what it did for you (for example, which rows it left out and why). Read them; the cell still worked."""

SETUP = """from pathlib import Path

import pandas as pd
import recoverystudy as rs

DATA = Path("six-site-data")   # <- change this one line to the folder with your own files

if not DATA.exists():
    study = rs.synthetic.six_site_study(seed=0)
    study.write(DATA)
    print(f"Wrote the synthetic study to {DATA.resolve()}")
print(f"Using the files in {DATA.resolve()}")"""

NOTES_MD = """### Notes from the library

recoverystudy tells you what it did for you with short **notes** (Python calls them warnings). The next cell
prints each note once, on one line, instead of a coloured box. What they mean:

- `DerivedKeyWarning`: a scoring key was worked out from the item wording (no published key could be cited);
  say so when you report the score.
- `UnverifiedKeyWarning`: a key file that is not the published key was used (here: the SYNTHETIC keys).
- `ProratingWarning`: some people skipped items and their score was worked out from the items they answered.
- `ExclusionWarning`: rows were left out (for example a missing site or score); the note says how many and why.
- `FewClustersWarning`: only a few sites, so tests between sites or countries are exploratory.
- `SingularFitWarning`: the site model found no variation between sites (the site variance is zero).
- `KeyingWarning`: some items correlate negatively with the rest; check whether they need reversing.
- `UndefinedStatisticWarning`: a statistic cannot be computed for these data; the note says why.

None of these is an error: the result is still there, and its `summary()` repeats what matters."""

NOTES = """import warnings

warnings.simplefilter("once", rs.errors.RecoveryStudyWarning)   # each note once


def show_note(message, category, filename, lineno, file=None, line=None):
    print(f"Note ({category.__name__}): {message}")


warnings.showwarning = show_note"""

KEYS = """# The Empowerment Scale and STAR-P keys are not published in a form we can ship. The synthetic study comes
# with SYNTHETIC keys (invented, labelled synthetic). With real data, put the key from your licensed manual here.
KEYS = {"es": DATA / "keys" / "es-synthetic.yaml", "star-p": DATA / "keys" / "star-p-synthetic.yaml"}"""


#: the cell that makes a notebook's project from the interview files (the same in notebooks 00, 03 and 05)
PROJECT_CELL = """meta = pd.read_csv(DATA / "interviews" / "interviews.csv")
path = Path("{name}.rsqda")
if path.exists():  # this notebook starts a fresh project; an earlier one is kept under a new name, never deleted
    kept = path.rename(path.with_name(f"{{path.stem}}-earlier-{{pd.Timestamp.now():%Y%m%d-%H%M%S}}.rsqda"))
    print(f"Kept the earlier project as {{kept.name}}")
proj = rs.Project.create(path, codebook="care-planning-framework")
proj.import_cases(meta[["case", "role", "site", "country", "triad_id", "survey_id"]], case_col="case")
for row in meta.itertuples():
    proj.add_document(DATA / "interviews" / f"{{row.name}}.txt", name=row.name, case=row.case, kind="interview")
"""


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text: str):
    return nbformat.v4.new_code_cell(text.strip("\n"))


NOTEBOOKS: dict[str, list] = {}

NOTEBOOKS["01-scoring.ipynb"] = [
    md("""# 1. Scoring questionnaires

This notebook turns the answers people gave into scores. You do not need to know Python: run each cell in
turn (Shift + Enter) and read the sentence under it.

What you will do:
1. read the survey file,
2. look at the questionnaires the library knows,
3. score them, with a report of missing answers,
4. check how consistent the items of each scale are (reliability)."""),
    md(SETUP_MD),
    code(SETUP),
    md(NOTES_MD),
    code(NOTES),
    md("""## Read the survey file

`rs.read_survey` reads CSV, Excel (.xlsx) and SPSS (.sav) files. Codes such as `N/A`, `D/K`, 9, 99 and -9
are kept exactly as typed; scoring treats them as "not answered"."""),
    code("""service_users = rs.read_survey(DATA / "surveys" / "service_users.csv")
print(len(service_users), "service users")
service_users.iloc[:5, :8]"""),
    md("""## The questionnaires

Each questionnaire is described in a data file (in `instruments/`), with where every scoring key comes from.
A key can be **established** (published, with a citation), **derived from wording** (worked out from the items,
and said so), or **unestablished** — then the library refuses to score that scale rather than guess."""),
    code("""rs.list_instruments()"""),
    code(KEYS),
    md("""## Score the Recovery Self Assessment (person in recovery version)

`rs.score` finds the item columns by their ids, turns non-answer codes into missing, reverse-scores where the
key says so, and scores a scale only when enough items were answered (the minimum-answered rule)."""),
    code("""rsa = rs.score(service_users, "rsa-person", id_col="respondent_id")
print(rsa.summary())"""),
    code("""rsa.scores.describe().round(2)"""),
    md("""The scores at each site (boxes: middle half of people; diamonds: means):"""),
    code("""rsa.plot(by=service_users["site"]);"""),
    md("""### How much was missing?

The missing-data report says, for every scale, how many people had a score and how many answers were
non-answer codes. A methods section needs this."""),
    code("""rsa.missing_report()"""),
    md("""## Score the other questionnaires

The Empowerment Scale (ES) and STAR-P are scored with the keys chosen above. The result records that the key
came from a file you supplied, so nobody can mistake it for the published key."""),
    code("""es = rs.score(service_users, "es", id_col="respondent_id", key=KEYS["es"])
star = rs.score(service_users, "star-p", id_col="respondent_id", key=KEYS["star-p"])
wai = rs.score(service_users, "wai-sr", id_col="respondent_id")
print(es.summary())"""),
    md("""Every result remembers how it was made — instrument version, where the key came from, the missing-data
rule. This is what you copy into a methods section."""),
    code("""es.provenance"""),
    md("""## Put the scores in one table"""),
    code("""scores = pd.concat([service_users[["respondent_id", "site", "country"]],
                    rsa.scores, es.scores, star.scores, wai.scores], axis=1)
scores.head()"""),
    md("""## Reliability

Cronbach's alpha and McDonald's omega say how consistently the items of a scale move together. Values above
about .70 are usually taken as acceptable for group comparisons. The numbers match R's `psych` package."""),
    code("""rel = rs.reliability(service_users, "rsa-person", "total")
print(rel.summary())"""),
    code("""rel.to_frame()"""),
    md("""How well does each item fit the scale? Items in red (corrected item-total correlation below .30) fit
least well."""),
    code("""rel.plot();"""),
    md("""## Save the scores

The scores file holds ids and numbers only — no free text."""),
    code("""scores.to_csv("scores.csv", index=False)
print("Saved scores.csv")"""),
]

NOTEBOOKS["02-comparing-sites.ipynb"] = [
    md("""# 2. Comparing sites

Do people's scores differ between the six sites? This notebook answers that with the tests a reviewer
expects, and explains each result in words.

- **Welch's ANOVA** compares site means without assuming equal spread at every site.
- **Kruskal–Wallis** compares sites using ranks, useful when scores are skewed.
- **Post-hoc tests** say *which* sites differ (Games–Howell after Welch, Dunn after Kruskal–Wallis).
- **Effect sizes** say *how much* of the variation lies between sites, with confidence intervals."""),
    md(SETUP_MD),
    code(SETUP),
    md(NOTES_MD),
    code(NOTES),
    code(KEYS),
    md("""## Score the questionnaires (as in notebook 1)"""),
    code("""service_users = rs.read_survey(DATA / "surveys" / "service_users.csv")
parts = [service_users[["respondent_id", "site", "country"]]]
for name, key in [("rsa-person", None), ("es", KEYS["es"]), ("star-p", KEYS["star-p"]), ("wai-sr", None)]:
    parts.append(rs.score(service_users, name, id_col="respondent_id", key=key).scores)
scores = pd.concat(parts, axis=1)
totals = ["rsa_person_total", "es_total", "star_p_total", "wai_sr_total"]
scores[totals].describe().round(2)"""),
    md("""## Welch's ANOVA for the four totals

Giving a list of scores tests them all and adjusts the p values for testing several scores (Holm's method,
column `p_adj`)."""),
    code("""welch = rs.compare_sites(scores, totals, "site", method="welch", seed=1)
welch.to_frame()"""),
    code("""print(welch.summary())"""),
    md("""## One score in detail: the therapeutic relationship (STAR-P)"""),
    code("""star = welch["star_p_total"]
star.descriptives"""),
    code("""star.effect_sizes"""),
    md("""Which pairs of sites differ? Games–Howell compares every pair; `estimate` is the second site's mean
minus the first's."""),
    code("""star.posthoc[star.posthoc["p_adj"] < 0.05]"""),
    code("""star.assumptions"""),
    code("""star.plot();"""),
    md("""Each pair of sites: the second site's mean minus the first's, with its confidence interval."""),
    code("""rs.games_howell(scores, "star_p_total", "site").plot();"""),
    md("""## The same question with ranks (Kruskal–Wallis and Dunn)"""),
    code("""kw = rs.compare_sites(scores, "star_p_total", "site", method="kruskal", n_boot=500, seed=1)
print(kw.summary())
kw.effect_sizes"""),
    md("""## How do the scales relate to each other?

Spearman correlations, using everyone who has both scores."""),
    code("""corr = rs.correlate(scores, totals, method="spearman")
corr.to_frame().round(3)"""),
    md("""## How much do sites matter? The site model

A mixed model with a random intercept for site. The **ICC** is the share of the variation that lies between
sites; the **design effect** says how much clustering inflates the variance of a mean."""),
    code("""model = rs.site_model(scores, "star_p_total", "site", n_boot=100, seed=1)
print(model.summary())"""),
    md("""Each site's estimated effect (how far its mean lies from the overall mean, shrunk towards it for small
sites), with its uncertainty:"""),
    code("""model.plot();"""),
    md("""## Does the questionnaire mean the same in England and Wales?

Before comparing countries, check **measurement invariance**: the same factor model is fitted with more and more
held equal between countries (configural; metric = equal loadings; scalar = equal loadings and intercepts).
Comparing means needs **scalar** invariance. Missing answers are used by full-information maximum likelihood."""),
    code("""star_p = rs.load_instrument("star-p", key=KEYS["star-p"])
inv = rs.invariance(service_users, star_p, group="country", missing="fiml")
print(inv.summary())
inv.fit.round(3)"""),
    code("""inv.comparisons.round(3)"""),
    code("""inv.plot();"""),
    md("""## Missing answers: does prorating change the site comparisons?

Multiple imputation fills the missing answers several times (predictive mean matching within site) and pools
the results (Rubin's rules); the table sets the prorated comparison beside the pooled one for every pair of
sites. 10 imputed data sets keep this notebook quick; use 20 or more for a paper."""),
    code("""sens = rs.mi_sensitivity(service_users, "star-p", site="site", m=10, seed=1,
                         score_options={"key": KEYS["star-p"]}, scales=["star_p_total"])
print(sens.summary())
sens.to_frame()[["group1", "group2", "prorated_estimate", "pooled_estimate", "prorated_p_adj",
                 "pooled_p_adj", "fmi", "same_conclusion"]].round(3)"""),
    code("""sens.plot();"""),
    md("""## England vs Wales — exploratory only

There are four English and two Welsh sites. A permutation test can only arrange six sites in 15 ways, so no
p value can go below 1/15 = 0.067. The library reports this and labels the result exploratory."""),
    code("""country = rs.country_effect(scores, "star_p_total", "site", "country", seed=1)
print(country.summary())
print("The estimate is", country.direction)"""),
    md("""The observed difference among every way of assigning the country labels to the six sites:"""),
    code("""country.plot();"""),
]

NOTEBOOKS["03-framework-analysis.ipynb"] = [
    md("""# 3. Framework analysis of interviews

The Framework Method has five stages: **familiarise** with the transcripts, **code**, agree a **working
analytical framework**, **index and chart** the data into a cases × codes matrix, and **interpret**.
This notebook walks through them with a project file that keeps everything safe on disk.

Nothing is ever coded automatically: the library can *suggest* passages, but only a person's `accept`
turns a suggestion into a coding."""),
    md(SETUP_MD),
    code(SETUP),
    md(NOTES_MD),
    code(NOTES),
    md("""## Create a project and add the transcripts

The project is one file. Every change is saved at once; a crash cannot lose work that was already saved.
Each run of this notebook starts a fresh project; if one is already there, it is kept under a new name."""),
    code(PROJECT_CELL.format(name="framework-project") + """proj"""),
    code("""proj.cases().head()"""),
    md("""Speaker turns ("Interviewer:", "SU07:", "Carer:" …) are found automatically."""),
    code("""proj.turns().head()"""),
    md("""## Familiarise: keywords in context

A concordance shows every place a word (and its variants: *plan*, *plans*, *planning*) appears."""),
    code("""proj.kwic("plan", window=50).head(10)"""),
    md("""## The codebook

The shipped working framework for care-planning interviews: themes, and codes within them, each with a
definition and inclusion/exclusion criteria."""),
    code("""codes = proj.codes()
codes[["path", "name", "definition"]].head(12)"""),
    md("""## Code a passage by hand

`code_quote` finds the words in the transcript and codes them. If the words are not there, or appear more
than once, it says so instead of guessing."""),
    code("""first = meta["name"].iloc[0]
answer = proj.turns(first).query("speaker != 'Interviewer'")["text"].iloc[0]
quote = answer.split(". ")[0]          # the first sentence of the first answer
print(quote)
seg = proj.code_quote(first, quote, codes["path"].iloc[1], coder="me")
proj.segments(coder="me")[["case", "code", "text"]]"""),
    md("""## Suggestions — checked by a person

The codebook's keyword rules propose sentences. They are stored as suggestions, not codings. Only what
participants say is suggested: the interviewer's questions are never suggested (`proj.turns()` shows each
turn's speaker and role)."""),
    code("""suggestions = proj.suggest()
print(len(suggestions), "suggestions, spoken by:", sorted(suggestions["speaker"].unique())[:5], "...")
proj.turns()[["document", "speaker", "role"]].drop_duplicates(["speaker", "role"]).head()"""),
    md("""### Review: read each suggestion in its context

Every suggestion carries the text around it. Read it, then accept it or reject it **with a reason**. Here
we review the first five by hand."""),
    code("""first_five = suggestions.head(5)
for row in first_five.itertuples():
    print(f"[{row.suggestion_id}] {row.code}  ({row.rule})")
    print("   ...", row.context_before[-80:].replace("\\n", " "), ">>>", row.text, "<<<",
          row.context_after[:60].replace("\\n", " "), "...\\n")"""),
    code("""# our decisions after reading them: accept the first three, reject the other two with our reasons
proj.accept(first_five["suggestion_id"].iloc[:3], coder="coder_a")
proj.reject(first_five["suggestion_id"].iloc[3], coder="coder_a", reason="about a relative's plan, not the participant's")
proj.reject(first_five["suggestion_id"].iloc[4], coder="coder_a", reason="keyword used in passing")"""),
    md("""Accepting everything at once is refused unless you say so with `accept_all=True` (and the log then
records that the suggestions were not reviewed one by one):"""),
    code("""try:
    proj.accept(proj.suggestions()["suggestion_id"], coder="coder_a")
except ValueError as err:
    print(err)"""),
    md("""To keep this notebook short, the remaining suggestions are decided by a **SIMULATED reviewer** that
stands in for you: it accepts a suggestion when the synthetic transcript really discusses that theme and
rejects it, with the reason, when the keyword is only used in passing. With real data, you decide."""),
    code("""import numpy as np
from recoverystudy.synthetic import simulated_review, simulated_second_coder

rng = np.random.default_rng(1)
accept_ids, rejections = simulated_review(proj.suggestions(), meta, rng)
proj.accept(accept_ids, coder="coder_a")
for reason, grp in rejections.groupby("reason"):
    proj.reject(grp["suggestion_id"].tolist(), coder="coder_a", reason=reason)
print(len(accept_ids), "accepted,", len(rejections), "rejected")"""),
    md("""### The record of decisions

Who decided what, when, and why: the record you can show a supervisor, a co-researcher or a reviewer."""),
    code("""decisions = proj.decisions()
print(decisions["status"].value_counts().to_dict())
decisions[["suggestion_id", "code", "text", "status", "decided_by", "reason"]].head(8)"""),
    md("""## Agree the framework

When the team agrees the working framework, freeze it. Later edits become new versions, and every coded
segment remembers the version it was coded under."""),
    code("""version = proj.freeze_framework("Agreed at team meeting")
proj.framework_versions()"""),
    md("""## Double-coding a blind subset and agreement

A second researcher codes about a fifth of the transcripts without seeing the first coder's codings. Here
coder_b is a **SIMULATED** second coder. Agreement is then computed on the transcripts **both** coded — the
documents only one of them coded are listed as excluded, never counted against the other. Cohen's kappa and
Krippendorff's alpha correct for chance agreement."""),
    code("""segs = proj.segments(coder="coder_a")
double_coded, coder_b = simulated_second_coder(segs, proj.codes(), rng, share=0.2)
proj.code_many(coder_b, coder="coder_b")
print(len(double_coded), "of", len(meta), "transcripts double-coded")
agreement = proj.agreement("coder_a", "coder_b", unit="sentence")
print(agreement.summary())"""),
    code("""print("compared:", len(agreement.documents_included), "documents; excluded:", len(agreement.documents_excluded))
agreement.documents_excluded.head(3)"""),
    md("""Each disagreement links back to the text (document, start, end, the words, who coded what): bring
these to the team meeting."""),
    code("""agreement.disagreements().head()"""),
    md("""Agreement per code (red: below .60, where the team should talk about the code's definition):"""),
    code("""agreement.plot();"""),
    md("""## Chart: summarise each case under each code

Charting is the step where you read a case's coded passages under one code and write a short summary in your
own words, keeping the links to the passages it rests on. Take one case and one code:"""),
    code("""code = segs["code"].value_counts().index[0]
case = segs.loc[segs["code"] == code, "case"].iloc[0]
evidence = proj.segments(code=code, case=case, coder="coder_a")
evidence[["segment_id", "text"]]"""),
    code("""proj.chart(case, code, "Wants a say in the plan but was not asked; the plan feels written about them.",
           segments=evidence["segment_id"].tolist(), author="me")
matrix = proj.framework_matrix(group_by="site")
matrix.evidence(case, code)[["segment_id", "text", "linked"]]"""),
    md("""A program may fill other cells with an **automatic** summary (here: a count). Automatic summaries are
labelled as such in the matrix and never replace one a researcher wrote."""),
    code("""for c, grp in segs[segs["code"] == code].groupby("case"):
    if c != case:
        proj.chart(c, code, f"{len(grp)} passage(s) coded here.", segments=grp["segment_id"].tolist(),
                   automatic=True)
print("charted", code)"""),
    md("""## The framework matrix

Rows are cases grouped by site, columns are codes. Cells with a summary show it (automatic ones are marked
`[automatic summary]`); cells without one show how many segments are coded there — never invented text.
The matrix quotes what participants said, so keep the Excel file with the project, not with shareable tables."""),
    code("""matrix = proj.framework_matrix(group_by="site")
matrix.to_frame().iloc[:8, :4]"""),
    code("""matrix.plot();   # coded segments per site and code (summed by theme when there are many codes)"""),
    code("""matrix.to_excel("framework-matrix.xlsx")
print("One sheet per theme in framework-matrix.xlsx")"""),
    md("""## Memos

Write down your thinking as you go: on the project, a case, a code, a segment or a matrix cell."""),
    code("""proj.add_memo("Coordinators talk about paperwork far more than service users do.", on="project", author="me")
proj.memos()"""),
    md("""## Share with NVivo, MAXQDA, ATLAS.ti or QualCoder

The REFI-QDA format carries documents, cases, codes, codings and memos between tools."""),
    code("""proj.export_qdpx("framework-project.qdpx")
proj.close()
print("Exported framework-project.qdpx")"""),
]

NOTEBOOKS["04-auditing-care-plans.ipynb"] = [
    md("""# 4. Auditing care plans

Is each care plan personalised, recovery-focused, co-produced, carer-inclusive, with a crisis plan and a
review date? The library **pre-rates** every plan against a rubric and shows the evidence it found. A reviewer
then **confirms or changes** each rating. Pre-ratings and confirmed ratings are kept apart.

Care plans are identifiable. Everything this notebook writes for sharing is redacted, pseudonymised and has
small numbers suppressed."""),
    md(SETUP_MD),
    code(SETUP),
    md(NOTES_MD),
    code(NOTES),
    md("""## The rubric

Criteria from NICE QS14, the Triangle of Care, crisis-planning research and recovery/personalisation
guidance. A trust can copy the rubric file and edit it."""),
    code("""rubric = rs.load_rubric("care-plan-audit")
pd.DataFrame([{"criterion": c.id, "group": c.group, "question": c.question} for c in rubric.criteria])"""),
    md("""## Pre-rate the plans

Plans can be a folder of .txt/.docx/.odt/.rtf/.pdf files. The team and the country of each plan come
from a CSV file (the Welsh "eight areas of life" criterion applies only to plans from Welsh services)."""),
    code("""metadata = DATA / "care_plans" / "care_plans.csv"
audit = rs.audit_care_plans(DATA / "care_plans",
                            team=rs.read_plan_metadata(metadata, "team"),
                            country=rs.read_plan_metadata(metadata, "country"))
print(audit.summary())"""),
    code("""audit.plot();   # the share of plans meeting each criterion, with Wilson 95% intervals"""),
    code("""audit.prerated.head(10)"""),
    md("""### The evidence behind a rating

Each pre-rating keeps the sentence(s) and character positions it rests on. "Not evidenced" means the rules
found nothing — not that the care did not happen."""),
    code("""audit.evidence.head(5)"""),
    md("""## A reviewer confirms or changes ratings"""),
    code("""first_plan = audit.plans["plan_id"].iloc[0]
row = audit.prerated[audit.prerated["plan_id"] == first_plan].iloc[0]
audit.confirm(first_plan, row["criterion"], row["rating"], reviewer="reviewer 1", note="Agree with the evidence.")
audit.confirm(first_plan, row["criterion"], "partly met", reviewer="reviewer 2", note="Goal is vague.")
audit.confirmations"""),
    md("""Save the reviewers' work to a **private** file (it names plans and reviewers), and load it next time with
`audit.load_confirmations(...)`."""),
    code("""audit.save_confirmations("private-confirmations.csv")"""),
    md("""## Compliance by team

The proportion of plans meeting each criterion, with Wilson 95% confidence intervals."""),
    code("""compliance = audit.compliance(by="team").to_frame()
compliance[compliance["team"] == "All teams"].head(10)"""),
    md("""After the reviewer's confirmation, the final ratings (confirmed where confirmed, pre-rated otherwise):"""),
    code("""audit.compliance(by=None, source="final").plot();"""),
    md("""## Redaction

Before any sentence from a plan is shared, identifiers are replaced: NHS numbers (checked with their check
digit), dates of birth, phone numbers, e-mails, postcodes and names you list."""),
    code("""example = rs.redact("Seen with Jo Bloggs, NHS number 943 476 5919, tel 07700 900123.", names=["Jo Bloggs"])
print(example.text)"""),
    md("""## Write the shareable report

A secret key turns plan ids into pseudonyms (keyed HMAC-SHA256). The secret is never written to the outputs.
The anonymisation log is identifiable, so it must be written **outside** the shareable folder."""),
    code("""import secrets

secret = secrets.token_hex(32)   # in practice: rs.load_secret("path/to/secret-file")
report = audit.write_report("audit-report", secret=secret, log_path="private-anonymisation-log.csv")
print(report.summary())"""),
]

NOTEBOOKS["00-replicate-six-site-study.ipynb"] = [
    md("""# 0. Replicate the six-site study, from raw files to the paper's tables

This notebook runs the whole analysis of a six-site (4 England, 2 Wales) study of care planning: scores and
reliability, site comparisons, the site model, England vs Wales, the framework analysis of the interviews,
and the care-plan audit. The other notebooks explain each step slowly; this one runs them end to end.

With the synthetic data it reproduces the study's headline pattern: sites differ in the therapeutic
relationship, not in recovery orientation or empowerment."""),
    md(SETUP_MD),
    code(SETUP),
    md(NOTES_MD),
    code(NOTES),
    code(KEYS),
    md("""## Table 1 — participants by site"""),
    code("""service_users = rs.read_survey(DATA / "surveys" / "service_users.csv")
coordinators = rs.read_survey(DATA / "surveys" / "care_coordinators.csv")
table1 = pd.DataFrame({"service users": service_users.groupby("site").size(),
                       "care coordinators": coordinators.groupby("site").size()})
table1["country"] = service_users.groupby("site")["country"].first()
table1"""),
    md("""## YOUR COLUMNS: which column holds which questionnaire item

**This is the one cell to change for your own file** if its columns are not named by the item ids (for example
`Q1 ... Q12` instead of `wai_01 ... wai_12`). `rs.load_instrument("wai-sr").item_ids` lists the ids. Leave a
questionnaire out (or its mapping empty) when your columns already carry the item ids."""),
    code("""# ===== YOUR COLUMNS ==========================================================================
# questionnaire -> {item id: the column in YOUR file}; an empty {} means the columns are named by item ids.
ITEM_COLUMNS = {
    "rsa-person": {},
    "es": {},
    "star-p": {},
    "wai-sr": {},      # e.g. {"wai_01": "Q1", "wai_02": "Q2", ...}
}
# ============================================================================================="""),
    md("""## Scores"""),
    code("""results = {name: rs.score(service_users, name, id_col="respondent_id", key=KEYS.get(name),
                          items=ITEM_COLUMNS.get(name) or None)
           for name in ["rsa-person", "es", "star-p", "wai-sr"]}
provider = rs.score(coordinators, "rsa-provider", id_col="coordinator_id")
scores = pd.concat([service_users[["respondent_id", "site", "country"]]]
                   + [r.scores for r in results.values()], axis=1)
cc_scores = pd.concat([coordinators[["coordinator_id", "site", "country"]], provider.scores], axis=1)
totals = ["rsa_person_total", "es_total", "star_p_total", "wai_sr_total"]"""),
    md("""## Table 2 — reliability of each total"""),
    code("""rows = []
for name, scale_col in zip(["rsa-person", "es", "star-p", "wai-sr"], totals):
    rel = rs.reliability(service_users, name, "total", key=KEYS.get(name))
    rows.append({"scale": scale_col, "n": rel.n, "items": rel.n_items, "alpha": rel.alpha, "omega": rel.omega})
pd.DataFrame(rows).round(3)"""),
    md("""## Table 3 — differences between sites (Welch's ANOVA, Holm-adjusted)"""),
    code("""welch = rs.compare_sites(scores, totals, "site", method="welch", seed=1)
welch.to_frame()[["outcome", "statistic", "df1", "df2", "p", "p_adj"]].round(4)"""),
    code("""welch.plot();   # each site's scores with its mean and 95% CI, one panel per total"""),
    code("""for outcome in totals:
    print(welch[outcome].summary().splitlines()[0])"""),
    md("""Care coordinators' view of recovery orientation (RSA provider version):"""),
    code("""print(rs.compare_sites(cc_scores, "rsa_provider_total", "site", method="welch", seed=1).summary())"""),
    md("""## Table 4 — site model (ICC) and England vs Wales (exploratory)"""),
    code("""rows = []
for outcome in totals:
    m = rs.site_model(scores, outcome, "site", n_boot=0)
    c = rs.country_effect(scores, outcome, "site", "country", seed=1)
    assert c.direction == "Wales minus England"
    rows.append({"outcome": outcome, "ICC": m.icc, "design effect": m.design_effect,
                 "Wales minus England": c.estimate, "permutation p": c.permutation_p, "p floor": c.p_floor})
pd.DataFrame(rows).round(3)"""),
    md("""## Interviews — Framework Method"""),
    code(PROJECT_CELL.format(name="six-site-project") + """import numpy as np
from recoverystudy.synthetic import simulated_review

proj.suggest()  # a SIMULATED reviewer decides the suggestions here; with real data, you review them
accept_ids, rejections = simulated_review(proj.suggestions(), meta, np.random.default_rng(1))
proj.accept(accept_ids, coder="coder_a")
for reason, grp in rejections.groupby("reason"):
    proj.reject(grp["suggestion_id"].tolist(), coder="coder_a", reason=reason)
segments = proj.segments(coder="coder_a")
print(len(proj.documents()), "transcripts,", len(segments), "coded segments")"""),
    md("""## Table 5 — themes by role (number of people with coded material)"""),
    code("""segments["theme"] = segments["code"].str.split("/").str[0]
roles = proj.cases().set_index("case")["role"]
segments["role"] = segments["case"].map(roles)
segments.groupby(["theme", "role"])["case"].nunique().unstack(fill_value=0)"""),
    md("""## Table 6 — care-plan audit (pre-ratings, all teams)"""),
    code("""audit = rs.audit_care_plans(DATA / "care_plans")
overall = audit.compliance(by=None).to_frame()
overall[["criterion", "n_applicable", "proportion_met", "ci_low", "ci_high"]].round(3)"""),
    md("""## Methods

Every result records how it was obtained; here are the records behind Table 3 and the scoring."""),
    code("""welch["star_p_total"].provenance"""),
    code("""results["es"].provenance"""),
    code("""proj.close()"""),
]

NOTEBOOKS["05-joint-displays.ipynb"] = [
    md("""# 5. Joint displays: bringing numbers and words together

Mixed-methods research asks how the two strands speak to each other. This notebook builds three displays:

1. **Statistics by themes** — do people who talked about a theme score differently from those who did not?
2. **The case matrix** — each participant's scores beside the summaries of their interview.
3. **Triads** — a service user, their carer and their care coordinator side by side, with the audit of the
   care plan they share.

Only theme names, numbers and the summaries researchers wrote appear here — never quotations."""),
    md(SETUP_MD),
    code(SETUP),
    md(NOTES_MD),
    code(NOTES),
    code(KEYS),
    md("""## The two strands

Scores (as in notebook 1) and a coded project (as in notebook 3)."""),
    code("""service_users = rs.read_survey(DATA / "surveys" / "service_users.csv")
star = rs.score(service_users, "star-p", id_col="respondent_id", key=KEYS["star-p"])
rsa = rs.score(service_users, "rsa-person", id_col="respondent_id")
scores = pd.concat([service_users[["respondent_id", "site"]], star.scores, rsa.scores], axis=1)

""" + PROJECT_CELL.format(name="joint-project") + """import numpy as np
from recoverystudy.synthetic import simulated_review

proj.suggest()  # a SIMULATED reviewer decides the suggestions (notebook 3 shows how you review them)
accept_ids, rejections = simulated_review(proj.suggestions(), meta, np.random.default_rng(1))
proj.accept(accept_ids, coder="coder_a")
for reason, grp in rejections.groupby("reason"):
    proj.reject(grp["suggestion_id"].tolist(), coder="coder_a", reason=reason)
print(len(proj.segments()), "coded segments,", len(rejections), "suggestions rejected with a reason")"""),
    md("""## 1. Statistics by themes

For each theme: how many interviewed service users have coded material on it, and the STAR-P scores of those
with and without it. The Mann–Whitney test compares the two groups by ranks; the **rank-biserial
correlation** says how strongly (from −1 to 1). P values are adjusted for testing many themes (Holm).

The survey ids link the two strands: `case_id` is the id column in the scores, which matches the
`survey_id` recorded for each interviewee."""),
    code("""joint = rs.joint_display(scores, proj, case_id="respondent_id", value="star_p_total", by=None)
print(joint.summary())"""),
    code("""table = joint.to_frame()
assert (table["n_with"] > 0).all() and (table["n_without"] > 0).all()  # every theme divides the cases
table[["theme", "n_with", "n_without", "median_with", "median_without", "p", "p_adj", "rank_biserial"]].round(3)"""),
    code("""joint.plot();   # rank-biserial r with its interval, per theme"""),
    md("""The same display by site. Small groups give wide uncertainty: read these as descriptions."""),
    code("""by_site = rs.joint_display(scores, proj, case_id="respondent_id", value="star_p_total", themes=["relationship", "risk"])
by_site.to_frame()[["theme", "group", "n_with", "n_without", "p", "rank_biserial"]].round(3)"""),
    md("""## 2. The case matrix

Write a chart summary for a few cells first (in a real study, researchers write these in stage 4 of the
Framework Method). Cells without a summary show how many segments are coded there."""),
    code("""segs = proj.segments()
segs["theme"] = segs["code"].str.split("/").str[0]
for (case, code), grp in segs[segs["theme"] == "relationship"].groupby(["case", "code"]):
    proj.chart(case, code, f"Talks about the relationship ({len(grp)} passages).", segments=grp["segment_id"].tolist(),
               automatic=True)  # written by this loop, not by a researcher: labelled automatic
matrix = rs.case_matrix(scores, proj, case_id="respondent_id", columns=["star_p_total", "rsa_person_total"],
                        themes=["relationship", "risk", "carers"])
matrix.to_frame().head()"""),
    code("""matrix.to_excel("case-matrix.xlsx")
print(matrix.summary())"""),
    code("""matrix.plot();   # coded segments per person and theme"""),
    md("""## 3. Triads

Service users, carers and care coordinators who belong together share a `triad_id`. The audit result of
their care plan is added from the care-plan folder."""),
    code("""plans = pd.read_csv(DATA / "care_plans" / "care_plans.csv")
audit = rs.audit_care_plans(DATA / "care_plans")
tri = rs.triads(proj, scores, audit=audit, plans=plans[["plan_id", "triad_id"]], value="star_p_total")
print(tri.summary())"""),
    code("""tri.to_frame().head()"""),
    md("""For each theme: in how many triads do all members talk about it (agree), only some (differ), or none?"""),
    code("""tri.plot();"""),
    code("""proj.close()"""),
]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = cells
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
