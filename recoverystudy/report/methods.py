"""Methods paragraphs written from the provenance each result records, as prose a paper could adapt.

Nothing is typed by hand: every sentence is built from what a result recorded about how it was obtained
(method, instrument version, key provenance, missing-data rule, seed, the R function matched).  Results
that used the same method are described once, naming all of them.  File paths are never written.

>>> recs = [("WAI-SR total", {"method": "compare_sites", "test": "Welch's ANOVA", "posthoc": "games_howell",
...          "adjust": "holm", "package_version": "0.1.0"})]
>>> for line in methods_paragraphs(recs):
...     print(line)
Analyses used recoverystudy 0.1.0 (Python).
WAI-SR total: sites were compared with Welch's ANOVA, followed by Games-Howell comparisons of every pair of sites (Holm adjustment of p values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["methods_paragraphs", "strip_paths"]

_ABS_PATH = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=[(\[='\"]))(?:[A-Za-z]:\\|/)(?:[^\s'\"),;\]]+[/\\])+([^\s'\"),;\]]*)")
_STATUS = {
    "established": "a published key",
    "derived-from-wording": "a key derived from the item wording (no published key could be cited)",
    "synthetic": "a SYNTHETIC key invented for the demonstration study",
    "user-supplied": "a key supplied by the user",
    "unestablished": "no established key",
}
_POSTHOC = {"games_howell": "Games-Howell", "tukey": "Tukey HSD", "tukey_hsd": "Tukey HSD", "dunn": "Dunn"}
_ADJUST = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini–Hochberg", "bh": "Benjamini–Hochberg",
           "none": "no"}


def strip_paths(text: str) -> str:
    """Replace absolute file paths of this machine by the file's own name.

    >>> strip_paths("project: /tmp/demo0/project.rsqda; see C:\\\\Users\\\\ann\\\\plans\\\\x.txt")
    'project: project.rsqda; see x.txt'
    """
    return _ABS_PATH.sub(lambda m: m.group(1), text)


def _clean(v: Any) -> str:
    return strip_paths(str(v)).replace("_", " ")


def _score_sentence(prov: Mapping[str, Any]) -> str:
    title = prov.get("instrument_title") or prov.get("instrument", "an instrument")
    version = prov.get("instrument_version")
    parts = []
    for sid, sc in (prov.get("scales") or {}).items():
        status = _STATUS.get(sc.get("status", ""), f"key provenance '{sc.get('status', 'unknown')}'")
        rule = sc.get("rule", "")
        parts.append(f"the {sid.replace('_', ' ')} score was {rule} ({status})" if rule
                     else f"the {sid.replace('_', ' ')} score used {status}")
    sent = f"We scored the {title}{f' ({version})' if version else ''} from its definition kept as data: "
    sent += "; ".join(parts) + "."
    if prov.get("key_label"):
        sent += f" The key came from: {strip_paths(str(prov['key_label']))}."
    codes = prov.get("non_answer_codes") or {}
    if codes:
        sent += " Answers coded " + ", ".join(map(str, codes)) + " were treated as not answered."
    refused = prov.get("refused") or {}
    if refused:
        sent += (" These subscales were not scored, because no established scoring key could be cited: "
                 + ", ".join(str(r).replace("_", " ") for r in refused) + ".")
    return sent


def _compare_sentence(label: str, prov: Mapping[str, Any]) -> str:
    test = prov.get("test") or prov.get("method")
    sent = f"{label}: sites were compared with {test}"
    if prov.get("posthoc"):
        ph = _POSTHOC.get(str(prov["posthoc"]), str(prov["posthoc"]).replace("_", "-"))
        sent += f", followed by {ph} comparisons of every pair of sites"
        if prov.get("adjust"):
            sent += f" ({_ADJUST.get(str(prov['adjust']), prov['adjust'])} adjustment of p values)"
    sent += "."
    if prov.get("effect_size_ci"):
        sent += f" Confidence intervals for the effect sizes were obtained by {prov['effect_size_ci']}"
        if prov.get("n_boot"):
            sent += f" ({prov['n_boot']} resamples, seed {prov.get('seed')})"
        sent += "."
    if prov.get("missing_data"):
        sent += f" Missing data: {prov['missing_data']}."
    if prov.get("r_reference"):
        sent += f" The results equal R's {prov['r_reference']}."
    return sent


def _reliability_sentence(label: str, prov: Mapping[str, Any]) -> str:
    ci = prov.get("omega_ci_method")
    if prov.get("n_boot"):
        omega_ci = f"a percentile bootstrap interval for omega ({prov['n_boot']} resamples, seed {prov.get('seed')})"
    elif ci:
        omega_ci = f"a {ci} interval for omega"
    else:
        omega_ci = "no interval for omega"
    return (f"{label}: internal consistency was estimated by Cronbach's alpha, with a "
            f"{prov.get('alpha_ci_method', 'Feldt')} confidence interval, and by McDonald's omega total from a "
            f"{prov.get('omega_model', 'one-factor model')}, with {omega_ci}; item correlations used "
            f"{prov.get('missing', 'pairwise')}-complete answers. The values equal {prov.get('matches', 'R psych')}.")


def _site_model_sentence(label: str, prov: Mapping[str, Any]) -> str:
    sent = (f"{label}: a linear mixed model with a random intercept for site was fitted by "
            f"{prov.get('estimation', 'REML')}.")
    if prov.get("n_boot"):
        sent += (f" The confidence interval of the intraclass correlation (ICC) came from a "
                 f"{prov.get('icc_ci_method', 'bootstrap')} ({prov['n_boot']} resamples, seed {prov.get('seed')}).")
    if prov.get("design_effect_formula"):
        sent += f" The design effect was {prov['design_effect_formula']}."
    if prov.get("ddf"):
        sent += f" Fixed effects were tested with {prov['ddf']} degrees of freedom."
    if prov.get("site_variance_test"):
        sent += f" The site variance was tested by {prov['site_variance_test']}."
    sent += f" The estimates equal {prov.get('matches', 'lme4')}."
    return sent


def _country_sentence(label: str, prov: Mapping[str, Any]) -> str:
    return (f"{label} was treated as exploratory ({prov.get('exploratory_rule', 'few sites')}). The difference "
            f"between the site means, {prov.get('group')} minus {prov.get('reference')}, was tested by a "
            f"permutation test ({prov.get('permutation', '')}), by a wild cluster bootstrap "
            f"({prov.get('wild_bootstrap', '')}) and in a mixed model with a random intercept for site "
            f"(seed {prov.get('seed')}).")


def _correlate_sentence(label: str, prov: Mapping[str, Any]) -> str:
    return (f"{label}: {str(prov.get('correlation', '')).capitalize()} correlations were computed on "
            f"{prov.get('missing', 'pairwise-complete cases')}, with confidence intervals by "
            f"{prov.get('ci_method', '')} and p values by {prov.get('p_method', '')} "
            f"({_ADJUST.get(str(prov.get('adjust')), prov.get('adjust'))} adjustment). "
            f"The values equal {prov.get('matches', '')}.")


def _audit_sentence(label: str, prov: Mapping[str, Any]) -> str:
    verified = ("a rubric not yet verified by its publishers" if not prov.get("rubric_verified")
                else "a verified rubric")
    return (f"{label}: {prov.get('n_plans')} care plans were pre-rated by text rules against the "
            f"{prov.get('rubric')} rubric, version {prov.get('rubric_version')} ({verified}; SHA-256 "
            f"{str(prov.get('rubric_sha256', ''))[:12]}), in this order of rules: {prov.get('rule_order', '')}. "
            f"Compliance is shown with Wilson 95% confidence intervals.")


def _agreement_sentence(label: str, prov: Mapping[str, Any]) -> str:
    coders = prov.get("coders") or []
    who = " and ".join(map(str, coders)) if coders else "the coders"
    sent = f"{label}: agreement between {who} was measured"
    if prov.get("n_documents") is not None:
        sent += f" on {prov['n_documents']} documents"
    if prov.get("n_codes") is not None:
        sent += f" and {prov['n_codes']} codes"
    unit = prov.get("unit")
    if unit:
        sent += f", with each {unit} as the unit of comparison"
    sent += "."
    if prov.get("unit_rule"):
        sent += f" Unit rule: {_clean(prov['unit_rule'])}."
    sent += " Cohen's kappa, Fleiss' kappa and Krippendorff's alpha (nominal) were computed per code and pooled."
    return sent


_WRITERS = {"reliability": _reliability_sentence, "site_model": _site_model_sentence,
            "country_effect": _country_sentence, "correlate": _correlate_sentence,
            "care_plan_audit": _audit_sentence, "coding_agreement": _agreement_sentence,
            "compare_sites": _compare_sentence}

_SKIP = {"package", "package_version", "method", "project", "path", "file", "out_dir", "seed_drawn"}


def _generic_sentence(label: str, prov: Mapping[str, Any]) -> str:
    method = str(prov.get("method", "an analysis")).replace("_", " ")
    settings = []
    for k, v in prov.items():
        if k in _SKIP or v is None or v == "" or (isinstance(v, (dict, list, tuple)) and len(str(v)) > 160):
            continue
        settings.append(f"{k.replace('_', ' ')} {_clean(v)}")
    sent = f"{label} was obtained by {method}"
    if settings:
        sent += ", with " + ", ".join(settings[:-1]) + (" and " if len(settings) > 1 else "") + settings[-1]
    return sent + "."


def methods_paragraphs(records: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Write methods paragraphs from ``(label, provenance)`` records, describing identical methods once.

    Parameters
    ----------
    records : iterable of (str, mapping)
        A label for each result and the ``provenance`` it recorded.

    Returns
    -------
    list of str
        The first paragraph names the package version; each further one describes a method.

    Examples
    --------
    >>> methods_paragraphs([("A", {"method": "coding_agreement", "coders": ["ann", "bo"], "unit": "sentence",
    ...                      "project": "/home/ann/study.rsqda"})])[1]
    "A: agreement between ann and bo was measured, with each sentence as the unit of comparison. Cohen's kappa, Fleiss' kappa and Krippendorff's alpha (nominal) were computed per code and pooled."
    """
    versions = set()
    seen: dict[str, list[str]] = {}
    for label, prov in records:
        if not prov:
            continue
        versions.add(prov.get("package_version"))
        method = prov.get("method")
        if method == "score":
            sentence = _score_sentence(prov)
        elif method in _WRITERS:
            sentence = _WRITERS[method]("{labels}", prov)
        else:
            sentence = _generic_sentence("{labels}", prov)
        seen.setdefault(strip_paths(sentence), []).append(label)
    vers = ", ".join(sorted(str(v) for v in versions if v))
    out = [f"Analyses used recoverystudy {vers} (Python)." if vers else "Analyses used recoverystudy (Python)."]
    for sentence, labels in seen.items():
        out.append(sentence.replace("{labels}", ", ".join(labels)))
    return out
