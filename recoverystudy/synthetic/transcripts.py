"""Synthetic interview transcripts (service users, carers, care coordinators, managers).

Transcripts are assembled from the sentence pools in ``templates/interviews.yaml`` (data, not code): an
opening, five to eight themes drawn for the speaker's role, and a closing.  Each theme contributes an
interviewer question and an answer of two or three sentences, sometimes followed by a probe and a further
answer.  Speaker turns are written ``Interviewer:``, ``SU07:``, ``Carer:``, ``CC:`` and ``Manager:``.

The themes planted in each transcript are recorded in the ``themes`` column, and their tone (positive or
negative) in ``tones``.  The tone of the therapeutic-relationship theme follows the person's WAI-SR answers
where they also answered the survey (otherwise their site's planted effect), so case-level integration
of the two strands has something real to find.

>>> import numpy as np
>>> from recoverystudy.synthetic.surveys import service_user_survey, coordinator_survey
>>> rng = np.random.default_rng(0)
>>> su, cc = service_user_survey(rng, 0.2), coordinator_survey(rng, 0.2)
>>> iv = interview_transcripts(rng, su, cc, scale=0.2)
>>> sorted(iv["role"].unique())
['care coordinator', 'carer', 'manager', 'service user']
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy._yaml import load_yaml
from recoverystudy.synthetic.sites import SITES

__all__ = ["THEMES", "ROLE_THEMES", "interview_transcripts", "load_templates"]

#: Theme ids planted in the transcripts, in the order of the study's reported themes.
THEMES = ("recovery", "personalisation", "care_planning", "care_plan_document", "risk", "carer_involvement",
          "relationship", "coordinator_role", "crisis")

#: Which themes each role talks about (a random five to eight of them per interview).
ROLE_THEMES = {
    "service user": THEMES,
    "carer": ("recovery", "care_planning", "care_plan_document", "risk", "carer_involvement", "relationship",
              "crisis", "coordinator_role"),
    "care coordinator": THEMES,
    "manager": ("recovery", "personalisation", "care_planning", "care_plan_document", "risk", "coordinator_role",
                "carer_involvement", "crisis", "relationship"),
}
_POOL = {"service user": "su", "carer": "carer", "care coordinator": "cc", "manager": "mgr"}
_FIRST_NAMES = ("Sam", "Jo", "Priya", "Gareth", "Rhian", "Tom", "Aisha", "Mark", "Carys", "Helen", "Dev", "Ffion",
                "Lee", "Nadia", "Owen", "Ruth")
_RELATIONS = (("my mum", "my son"), ("my sister", "my brother"), ("my partner", "my partner"),
              ("my dad", "my daughter"), ("my wife", "my husband"), ("my friend", "my friend"))


@lru_cache(maxsize=1)
def load_templates() -> dict[str, Any]:
    """Load the sentence pools shipped in ``recoverystudy/synthetic/templates/interviews.yaml``.

    >>> sorted(load_templates()["themes"])[:2]
    ['care_plan_document', 'care_planning']
    """
    text = resources.files("recoverystudy.synthetic").joinpath("templates").joinpath("interviews.yaml").read_text("utf-8")
    return load_yaml(text, file="interviews.yaml")


class _Fill(dict):
    def __missing__(self, key: str) -> str:  # leave unknown placeholders visible rather than failing
        return "{" + key + "}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


def _relationship_z(su: pd.DataFrame) -> pd.Series:
    """Standardised mean of answered WAI-SR items per service user (NaN when none answered)."""
    cols = [c for c in su.columns if c.startswith("wai_")]
    vals = su[cols].apply(pd.to_numeric, errors="coerce").astype("float64")
    vals = vals.where((vals >= 1) & (vals <= 5))
    m = vals.mean(axis=1)
    return ((m - m.mean()) / m.std()).set_axis(su["respondent_id"].to_numpy())


def _interview(rng: np.random.Generator, tpl: dict[str, Any], role: str, label: str, fill: _Fill,
               p_pos: dict[str, float]) -> tuple[str, list[str], list[str]]:
    pool = _POOL[role]
    qfill = _Fill(fill, ward=str(fill.get("ward", "")).replace("my ", "your ", 1))
    lines = [f"Interviewer: {rng.choice(tpl['openings']['interviewer']).format_map(fill)}",
             f"{label}: {_cap(rng.choice(tpl['openings'][pool]).format_map(fill))}"]
    available = ROLE_THEMES[role]
    k = int(rng.integers(5, min(8, len(available)) + 1))
    chosen = [available[i] for i in sorted(rng.choice(len(available), size=k, replace=False))]
    tones = []
    for theme in chosen:
        spec = tpl["themes"][theme]
        tone = "pos" if rng.random() < p_pos.get(theme, 0.5) else "neg"
        sentences = spec.get(f"{pool}_{tone}") or spec.get(f"{pool}_{'neg' if tone == 'pos' else 'pos'}")
        tones.append(tone)
        qrole = {"su": "su", "carer": "carer"}.get(pool, "staff")
        lines.append(f"Interviewer: {_cap(str(rng.choice(spec['questions'][qrole])).format_map(qfill))}")
        n_say = min(len(sentences), int(rng.integers(1, 3)) + (len(sentences) > 2))
        picked = [sentences[i] for i in rng.choice(len(sentences), size=n_say, replace=False)]
        first, rest = picked[0], picked[1:]
        marker = str(rng.choice(tpl["markers"]))
        first = _cap(first.format_map(fill))
        if marker and first[:2] not in ("I ", "I'") and first[1:2].islower():
            first = marker + first[0].lower() + first[1:]
        rest = [_cap(r.format_map(fill)) for r in rest]
        if rest and rng.random() < 0.35:
            lines.append(f"{label}: {first}")
            lines.append(f"Interviewer: {rng.choice(tpl['probes'])}")
            lines.append(f"{label}: {' '.join(rest)}")
        else:
            lines.append(f"{label}: {' '.join([first, *rest])}")
    lines.append(f"Interviewer: {tpl['closings']['interviewer']}")
    lines.append(f"{label}: {rng.choice(tpl['closings'][pool])}")
    return "\n\n".join(lines) + "\n", chosen, tones


def interview_transcripts(rng: np.random.Generator, service_users: pd.DataFrame, coordinators: pd.DataFrame,
                          scale: float = 1.0) -> pd.DataFrame:
    """Write the interview transcripts, with triads and links to the surveys.

    Per site at ``scale=1``: five triads (a service user, their carer and their care coordinator), three
    further service users and two managers: 20 interviews, 120 in all.  About 80% of interviewed service
    users and 85% of coordinators also answered the survey; their ``survey_id`` links the two.

    Returns
    -------
    pandas.DataFrame
        ``name, case, role, site, site_code, country, team, triad_id, survey_id, speaker, themes, tones,
        n_words, text`` (``themes``/``tones`` are ``;``-separated planted theme ids and their tones).
    """
    tpl = load_templates()
    rel_z = _relationship_z(service_users)
    n_triads = max(1, round(5 * scale))
    n_extra = max(0, round(3 * scale))
    n_mgr = max(1, round(2 * scale))
    rows: list[dict[str, Any]] = []
    for code, site, country, *_rest, effect, teams in SITES:
        su_site = service_users[service_users["site_code"] == code]
        cc_site = coordinators[coordinators["site_code"] == code]
        n_su = min(n_triads + n_extra, len(su_site))
        su_rows = su_site.iloc[rng.choice(len(su_site), size=n_su, replace=False)]
        cc_used: set[str] = set()
        cc_number = 0
        for k, (_, su) in enumerate(su_rows.iterrows(), start=1):
            linked = rng.random() < 0.8
            triad = f"{code}-T{k:02d}" if k <= n_triads else None
            cc_name = str(rng.choice(_FIRST_NAMES))
            rel, ward = _RELATIONS[int(rng.integers(len(_RELATIONS)))]
            years = int(rng.integers(2, 16))
            z = rel_z.get(su["respondent_id"], np.nan)
            p_rel = float(_sigmoid(1.6 * z if np.isfinite(z) else 2.5 * effect))
            p_pos = {"relationship": p_rel, "care_planning": 0.5 + 0.4 * (p_rel - 0.5),
                     "personalisation": 0.5 + 0.4 * (p_rel - 0.5)}
            fill = _Fill(cc=cc_name, rel=rel, ward=ward, team=su["team"], site=site, years=years)
            label = f"SU{k:02d}"
            text, themes, tones = _interview(rng, tpl, "service user", label, fill, p_pos)
            case = f"{code}-SU{k:02d}"
            rows.append(dict(name=f"{case}_interview", case=case, role="service user", site=site, site_code=code,
                             country=country, team=su["team"], triad_id=triad,
                             survey_id=su["respondent_id"] if linked else None, speaker=label,
                             themes=";".join(themes), tones=";".join(tones), text=text))
            if triad is None:
                continue
            # the carer of this service user
            text, themes, tones = _interview(rng, tpl, "carer", "Carer", fill, p_pos)
            case_c = f"{code}-CR{k:02d}"
            rows.append(dict(name=f"{case_c}_interview", case=case_c, role="carer", site=site, site_code=code,
                             country=country, team=su["team"], triad_id=triad, survey_id=None, speaker="Carer",
                             themes=";".join(themes), tones=";".join(tones), text=text))
            # their care coordinator (a different coordinator for each triad where possible)
            cc_id = su["coordinator_id"]
            if cc_id in cc_used or cc_id not in set(cc_site["coordinator_id"]):
                free = [c for c in cc_site["coordinator_id"] if c not in cc_used]
                cc_id = free[int(rng.integers(len(free)))] if free else cc_id
            cc_used.add(cc_id)
            cc_number += 1
            cc_row = cc_site[cc_site["coordinator_id"] == cc_id]
            team = cc_row["team"].iloc[0] if len(cc_row) else su["team"]
            text, themes, tones = _interview(rng, tpl, "care coordinator", "CC",
                                             _Fill(fill, team=team), {"relationship": 0.5 + 0.3 * effect})
            case_cc = f"{code}-CC{cc_number:02d}"
            rows.append(dict(name=f"{case_cc}_interview", case=case_cc, role="care coordinator", site=site,
                             site_code=code, country=country, team=team, triad_id=triad,
                             survey_id=cc_id if rng.random() < 0.85 else None, speaker="CC",
                             themes=";".join(themes), tones=";".join(tones), text=text))
        for m in range(1, n_mgr + 1):
            team = teams[(m - 1) % len(teams)]
            fill = _Fill(team=team, site=site, years=int(rng.integers(2, 12)), cc="", rel="", ward="")
            text, themes, tones = _interview(rng, tpl, "manager", "Manager", fill, {})
            case_m = f"{code}-MG{m:02d}"
            rows.append(dict(name=f"{case_m}_interview", case=case_m, role="manager", site=site, site_code=code,
                             country=country, team=team, triad_id=None, survey_id=None, speaker="Manager",
                             themes=";".join(themes), tones=";".join(tones), text=text))
    frame = pd.DataFrame(rows)
    frame.insert(len(frame.columns) - 1, "n_words", frame["text"].str.split().str.len().astype(int))
    return frame
