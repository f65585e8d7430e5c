"""Plain-English words for what a reader meets: column labels and a glossary of terms.

One source for the report (hover text and a glossary section), the Word version and the docs glossary
page (``docs/glossary.md`` is checked against :data:`GLOSSARY` by the test suite).

>>> label_for("n_service_users"), label_for("alpha_ci_low")
('Service users (n)', 'Alpha, 95% CI lower')
>>> "kappa" in terms_in("Cohen's kappa per code")
True
"""

from __future__ import annotations

import re

__all__ = ["GLOSSARY", "COLUMN_LABELS", "glossary_for", "glossary_markdown", "label_for", "term_for_column", "terms_in"]

#: term -> plain-English meaning.  Keep each to one or two sentences a service-user researcher can read.
GLOSSARY: dict[str, str] = {
    # --- questionnaires ---
    "instrument": "A questionnaire with a fixed set of questions and answer options, such as the Recovery Self "
                  "Assessment (RSA) or the Empowerment Scale (ES). recoverystudy keeps each one as a definition "
                  "file in instruments/.",
    "item": "One question of an instrument. Your data hold one column per item, named by its item id (for "
            "example wai_01), or mapped to it.",
    "scale": "A score made from several items, such as a total or a subscale (a score for part of an "
             "instrument, such as the WAI-SR bond items).",
    "scoring key": "The rules that turn answers into a score: which items belong to which scale, which items "
                   "are reversed, the answer range and how items are combined. Often just called a key.",
    "reverse-keyed item": "An item worded the other way round (\"I usually feel alone\"), so that agreeing means "
                          "less of what the scale measures. It is scored as minimum + maximum - answer.",
    "non-answer code": "A value that means \"not answered\", such as N/A (not applicable), D/K (don't know), 99 "
                       "or -9.",
    "provenance": "Where something comes from. Every scoring key says whether it is established (a cited "
                  "source states it), derived-from-wording or unestablished, and every result records how it "
                  "was obtained, so a methods section can be written from it.",
    "prorated": "When a person skipped a few items, their score is worked out from the items they did "
                "answer, scaled up to the full scale. Scores are only prorated when enough items were answered.",
    "minimum answered": "The fewest items a person must answer for a score to be given at all.",
    "derived-from-wording": "A scoring key worked out from the wording of the items (for example which items "
                            "are negatively worded), because no published key could be cited.",
    "unestablished": "A scoring key that is not published anywhere we can cite, so the library refuses to "
                     "score it until you supply the key from your licensed manual.",
    "alpha": "Cronbach's alpha: how consistently the items of a scale measure the same thing, from 0 to 1. "
             "Above about .70 is usually taken as acceptable.",
    "omega": "McDonald's omega: like alpha, a measure of how well the items hang together, which does not "
             "assume every item counts equally.",
    # --- comparing sites ---
    "site": "One service taking part in a study, such as one NHS trust's community mental-health teams.",
    "confidence interval": "The range of values that fit the data well. A 95% confidence interval (CI) is "
                           "built so that, over many studies like this one, 95 of 100 such ranges contain the "
                           "true value.",
    "CI": "Short for confidence interval: the range of values that fit the data well.",
    "p-value": "How surprising the data would be if there were really no difference. Small values (for example "
               "below .05) mean the data would be unusual if there were no difference; they do not say how big "
               "or important a difference is.",
    "adjusted p": "A p-value corrected because many comparisons were made at once, so that chance findings "
                  "are not over-counted (Holm's method unless stated).",
    "Welch": "Welch's test compares the average score of several groups without assuming the groups "
             "vary equally.",
    "Kruskal-Wallis": "A comparison of several groups that uses the order of the scores (ranks) instead of "
                      "the scores themselves, so a few extreme values matter less.",
    "Games-Howell": "A way of comparing every pair of sites after Welch's test, allowing for groups of "
                    "different sizes and spreads.",
    "Dunn": "A way of comparing every pair of sites after the Kruskal-Wallis test, using ranks.",
    "effect size": "How big a difference or association is, on a scale that does not depend on the number of "
                   "people, as opposed to whether it is likely to be real.",
    "omega squared": "ω²: the share of the differences between people's scores that is explained by which "
                     "site they attend (0 = none, 1 = all).",
    "epsilon squared": "ε²: the same idea as ω², for a rank-based comparison.",
    "Hedges' g": "The difference between two groups' averages in units of their spread (standard "
                 "deviation), corrected for small samples. About 0.2 is small, 0.5 medium, 0.8 large.",
    "rank-biserial": "An effect size for a rank-based comparison of two groups, from -1 to 1: 0 means no "
                     "difference, 1 means every person in one group scored above every person in the other.",
    "correlation": "How closely two scores rise and fall together, from -1 to 1 (Spearman's rho uses ranks).",
    "ICC": "Intraclass correlation: the share of the differences between people that lies between sites "
           "rather than between people at the same site.",
    "design effect": "How much clustering by site inflates the uncertainty compared with a simple random "
                     "sample of the same size: 1 + (m - 1) x ICC, where m is the average number of people per "
                     "site. The sample is worth its size divided by the design effect.",
    "random intercept": "A model that lets each site have its own average level, treating the sites as a "
                        "sample of possible sites.",
    "Satterthwaite": "A correction to the degrees of freedom of a test in a mixed model, so that p-values "
                     "stay honest when there are only a few sites.",
    "permutation test": "A test that reshuffles the labels (here: which sites are in England and which in "
                        "Wales) in every possible way and asks how unusual the real difference is.",
    "wild cluster bootstrap": "A resampling method that respects clustering by site; unreliable when a "
                              "group has only one or two sites.",
    "measurement invariance": "Whether a questionnaire measures the same thing in the same way in different "
                              "groups; needed before their average scores can be compared fairly.",
    "multiple imputation": "Filling in missing answers several times with plausible values, analysing each "
                           "completed data set and combining the results, so the uncertainty from missing "
                           "answers is counted.",
    # --- interviews ---
    "Framework Method": "A way of analysing interviews: code the transcripts, agree a framework of themes, "
                        "then chart a summary for each case and theme in a matrix.",
    "case": "The unit of a framework analysis: usually one person interviewed, sometimes a group or a linked "
            "triad.",
    "code": "A short label attached to a passage of text, such as \"carer involvement\". A codebook lists the "
            "codes, grouped into themes, with definitions.",
    "segment": "One passage of text with one code attached, by one coder.",
    "framework matrix": "A table with one row per case and one column per code or theme; each cell holds a "
                        "short summary of what that case said about that theme, linked to the passages it "
                        "rests on.",
    "charting": "Writing the summary in a framework-matrix cell, with links to the quotes it rests on.",
    "kappa": "Cohen's kappa: agreement between two coders beyond what chance alone would give. 1 is "
             "perfect agreement, 0 is no better than chance; above about .60 is usually called substantial.",
    "Krippendorff's alpha": "An agreement measure like kappa that works for two or more coders.",
    "percent agreement": "The share of units on which the coders made the same decision, without allowing "
                         "for chance.",
    "joint display": "A table that puts questionnaire results beside interview themes, so the two kinds of "
                     "evidence can be read together.",
    "triad": "A service user, their carer and their care coordinator, whose accounts are compared.",
    # --- privacy ---
    "pseudonym": "A made-up identifier that replaces a real one, such as P-31dded47e35c for a plan file name. "
                 "recoverystudy makes pseudonyms with a secret key, so they cannot be turned back without it.",
    "HMAC": "The keyed method behind pseudonyms: a code made from an identifier and a secret, so the same "
            "person always gets the same code but nobody without the secret can work back to who it is.",
    "redaction": "Replacing names, NHS numbers, dates of birth, addresses and other identifiers in text with a "
                 "marker such as [name] before the text is shared.",
    "small-number suppression": "Hiding counts below 5 in a published table (shown as *), so that no "
                                "individual can be picked out. Secondary suppression hides further cells so "
                                "that the hidden ones cannot be worked out from the totals.",
    "Wilson interval": "A confidence interval for a proportion that behaves well with small numbers.",
    "synthetic": "Invented data made by the package for practice; no real person is described.",
}

#: column name -> plain label.  Columns not listed get a readable version of their name.
COLUMN_LABELS: dict[str, str] = {
    "n": "N", "k": "Sites (k)", "df": "df", "df1": "df (numerator)", "df2": "df (denominator)",
    "p": "p", "p_adj": "Adjusted p", "statistic": "Test statistic", "estimate": "Estimate",
    "se": "SE", "ci_low": "95% CI lower", "ci_high": "95% CI upper",
    "n_service_users": "Service users (n)", "n_coordinators": "Care coordinators (n)",
    "n_items": "Items", "n_respondents": "Respondents", "min_answered": "Minimum answered",
    "scored_complete": "Scored (all items answered)", "scored_prorated": "Scored (prorated)",
    "not_scored": "Not scored", "alpha": "Alpha", "alpha_ci_low": "Alpha, 95% CI lower",
    "alpha_ci_high": "Alpha, 95% CI upper", "omega_total": "Omega", "omega_ci_low": "Omega, 95% CI lower",
    "omega_ci_high": "Omega, 95% CI upper", "effect_size": "Effect size", "effect_value": "Effect size value",
    "group1": "Site A", "group2": "Site B", "n1": "n (A)", "n2": "n (B)",
    "hedges_g": "Hedges' g", "g_ci_low": "g, 95% CI lower", "g_ci_high": "g, 95% CI upper",
    "variance_site": "Variance between sites", "variance_residual": "Variance within sites",
    "icc": "ICC", "icc_ci_low": "ICC, 95% CI lower", "icc_ci_high": "ICC, 95% CI upper",
    "design_effect": "Design effect", "singular": "Site variance at zero",
    "lrt_site_variance_p": "Site variance, likelihood-ratio p",
    "permutation_p": "Permutation p", "wild_bootstrap_p": "Wild bootstrap p", "p_floor": "Smallest possible p",
    "mixed_model_estimate": "Mixed-model estimate", "exploratory": "Exploratory",
    "wales_minus_england": "Wales minus England", "estimate_b_minus_a": "Difference (B minus A)",
    "n_plans": "Plans", "n_met": "Met", "n_partly_met": "Partly met", "n_not_evidenced": "Not evidenced",
    "n_not_applicable": "Not applicable", "n_applicable": "Applicable", "proportion_met": "Proportion met",
    "percent_agreement": "Percent agreement", "kappa": "Cohen's kappa", "fleiss_kappa": "Fleiss' kappa",
    "n_units": "Units", "n_coded_any": "Units coded by anyone", "rank_biserial": "Rank-biserial r",
    "n_with": "Cases with theme", "n_without": "Cases without theme", "median_with": "Median with",
    "median_without": "Median without", "theme_name": "Theme", "r": "r", "x": "Scale 1", "y": "Scale 2",
    "outcome": "Outcome", "instrument": "Instrument", "scale": "Scale", "site": "Site", "team": "Team",
    "criterion": "Criterion", "code": "Code", "rule": "Scoring rule", "test": "Test",
}

#: which glossary entry explains a column (for hover text)
_COLUMN_TERMS = {
    "alpha": "alpha", "omega": "omega", "ci_": "CI", "p_adj": "adjusted p", "kappa": "kappa",
    "icc": "ICC", "design_effect": "design effect", "hedges_g": "Hedges' g", "rank_biserial": "rank-biserial",
    "prorated": "prorated", "min_answered": "minimum answered", "permutation_p": "permutation test",
    "wild_bootstrap": "wild cluster bootstrap", "percent_agreement": "percent agreement",
    "effect_size": "effect size", "p": "p-value",
}


def label_for(column: str) -> str:
    """A plain label for a column name.

    >>> label_for("n_not_evidenced"), label_for("star_p_total")
    ('Not evidenced', 'Star p total')
    """
    col = str(column)
    if col in COLUMN_LABELS:
        return COLUMN_LABELS[col]
    if "/" in col:  # a code path such as "recovery/hope_and_goals"
        return col.rsplit("/", 1)[1].replace("_", " ").capitalize()
    return col.replace("_", " ").strip().capitalize() if col == col.lower() else col


def term_for_column(column: str) -> str | None:
    """The glossary term that explains a column, if any.

    >>> term_for_column("alpha_ci_low"), term_for_column("site")
    ('alpha', None)
    """
    col = str(column).lower()
    if col == "p":
        return "p-value"
    for key, term in _COLUMN_TERMS.items():
        if key != "p" and key in col:
            return term
    return None


_TERM_PATTERNS = {t: re.compile(r"(?<![\w-])" + re.escape(t.lower()) + r"(?![\w-])") for t in GLOSSARY}


def terms_in(text: str) -> list[str]:
    """Glossary terms that occur in ``text`` (case-insensitive, whole words), in glossary order.

    >>> terms_in("Welch's ANOVA with Games-Howell comparisons")
    ['Welch', 'Games-Howell']
    """
    low = text.lower().replace("–", "-")
    return [t for t, pat in _TERM_PATTERNS.items() if pat.search(low)]


def glossary_for(texts: list[str], columns: list[str] = ()) -> dict[str, str]:
    """The glossary entries needed for some texts and columns, in glossary order.

    >>> list(glossary_for(["The ICC was small."], ["alpha"]))
    ['alpha', 'ICC']
    """
    wanted = set()
    for t in texts:
        wanted.update(terms_in(t))
    for c in columns:
        term = term_for_column(c)
        if term:
            wanted.add(term)
    return {t: GLOSSARY[t] for t in GLOSSARY if t in wanted}


def glossary_markdown() -> str:
    """The text of ``docs/glossary.md`` (the test suite checks the committed page equals this).

    >>> glossary_markdown().startswith("# Glossary")
    True
    """
    lines = ["# Glossary", "",
             "Plain-English meanings of the words recoverystudy, its reports and these pages use. The same",
             "explanations appear when you hover over a column heading in a report, and at the end of every",
             "report and Word file.", "",
             "<!-- Generated from recoverystudy/report/glossary.py: edit that file, then run",
             "python -c \"from recoverystudy.report.glossary import glossary_markdown as g; "
             "open('docs/glossary.md', 'w').write(g())\" -->", "",
             "```{glossary}"]
    for term in sorted(GLOSSARY, key=str.lower):
        lines += [term, f"  {GLOSSARY[term]}", ""]
    lines[-1] = "```"
    lines.append("")
    return "\n".join(lines)
