"""Synthetic care plans of varied quality, linked to service users.

Plans are filled from the templates in ``templates/care_plans.yaml`` (data, not code).  Five quality levels
are used, echoing what the six-site study and the care-plan audit literature describe: ``co-produced``,
``partly-personalised``, ``carer-absent``, ``box-ticking`` and ``risk-focused`` (risk labels without a safety
plan).  Welsh plans are titled "Care and Treatment Plan".

Privacy: the plans contain invented first names only, and telephone numbers from Ofcom's drama ranges.
A few plans carry clearly fake identifiers that a redaction step must catch: NHS numbers from the 999 test
range with a valid modulus-11 check digit, a date of birth, a mobile number and an ``example.org`` email.
They are listed per plan in ``planted_identifiers``.

>>> nhs_number_check_digit("943476591")
9
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from recoverystudy._yaml import load_yaml
from recoverystudy.synthetic.sites import SITES

__all__ = ["QUALITIES", "care_plans", "fake_nhs_number", "load_plan_templates", "nhs_number_check_digit"]

QUALITIES = ("co-produced", "partly-personalised", "carer-absent", "box-ticking", "risk-focused")
_FIRST = ("Alex", "Jordan", "Casey", "Morgan", "Robin", "Jamie", "Sian", "Dylan", "Bethan", "Kieran", "Leah",
          "Callum", "Megan", "Rhys", "Zara", "Imran", "Holly", "Connor", "Erin", "Toby")
_SURNAME_INITIAL = tuple("ABCDEFGHJKLMNPRSTW")
_CC_FULL = ("Sam Okafor", "Jo Pritchard", "Priya Shah", "Gareth Lloyd", "Rhian Evans", "Tom Barker",
            "Aisha Begum", "Mark Dunn", "Carys Morgan", "Helen Quinn")
_CARER = (("mum", "Linda"), ("sister", "Jean"), ("partner", "Chris"), ("dad", "Alan"), ("wife", "Mandy"),
          ("daughter", "Kerry"))
_PHONES = {"England": ("0161 496 0{:03d}", "020 7946 0{:03d}"), "Wales": ("029 2018 0{:03d}",)}


def nhs_number_check_digit(first_nine: str) -> int | None:
    """Modulus-11 check digit of an NHS number's first nine digits (None when the number is invalid).

    Weights 10..2; check = 11 - (sum mod 11), 11 -> 0, 10 -> invalid (NHS Data Dictionary).

    >>> nhs_number_check_digit("999000000") is None or True
    True
    """
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def fake_nhs_number(rng: np.random.Generator) -> str:
    """A clearly fake NHS number from the 999 test range with a valid check digit, as ``999 123 4567``.

    >>> import numpy as np
    >>> n = fake_nhs_number(np.random.default_rng(0)).replace(" ", "")
    >>> n.startswith("999") and nhs_number_check_digit(n[:9]) == int(n[9])
    True
    """
    while True:
        nine = "999" + "".join(str(d) for d in rng.integers(0, 10, size=6))
        check = nhs_number_check_digit(nine)
        if check is not None:
            digits = nine + str(check)
            return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


@lru_cache(maxsize=1)
def load_plan_templates() -> dict[str, Any]:
    """Load ``recoverystudy/synthetic/templates/care_plans.yaml``.

    >>> sorted(load_plan_templates()["templates"])[:2]
    ['box-ticking', 'carer-absent']
    """
    text = resources.files("recoverystudy.synthetic").joinpath("templates").joinpath("care_plans.yaml")
    return load_yaml(text.read_text("utf-8"), file="care_plans.yaml")


def _pick(rng: np.random.Generator, pool: list[str], k: int) -> list[str]:
    return [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]


def care_plans(rng: np.random.Generator, service_users: pd.DataFrame, interviews: pd.DataFrame,
               scale: float = 1.0) -> pd.DataFrame:
    """Write about 33 care plans (at ``scale=1``), first for the service users in interview triads.

    Quality depends a little on the site's planted relationship effect: better-relationship sites have
    more co-produced plans.  Roughly a quarter of plans are .docx (the text is the same).

    Returns
    -------
    pandas.DataFrame
        ``plan_id, respondent_id, case, site, site_code, country, team, triad_id, quality, format, person_name,
        plan_date, review_date, planted_identifiers, text``.  ``respondent_id`` is the service user's survey id
        (missing when the person did not answer the survey); ``case`` is their interview case, if any.
    """
    tpl = load_plan_templates()
    n_plans = max(1, round(33 * scale))
    su_iv = interviews[interviews["role"] == "service user"]
    # triad members first, then other interviewed service users, then survey respondents
    order = pd.concat([su_iv[su_iv["triad_id"].notna()], su_iv[su_iv["triad_id"].isna()].iloc[::2]])
    picked = order.head(n_plans)
    extra = n_plans - len(picked)
    effect = {s[0]: s[5] for s in SITES}
    rows: list[dict[str, Any]] = []
    records = [(r["survey_id"], r["case"], r["site"], r["site_code"], r["country"], r["team"], r["triad_id"])
               for _, r in picked.iterrows()]
    if extra > 0:
        more = service_users.iloc[rng.choice(len(service_users), size=min(extra, len(service_users)), replace=False)]
        records += [(r["respondent_id"], None, r["site"], r["site_code"], r["country"], r["team"], None)
                    for _, r in more.iterrows()]
    n = len(records)
    ident_plans = set(rng.choice(n, size=min(n, max(1, round(4 * scale))), replace=False).tolist())
    fields = tpl["fields"]
    for i, (survey_id, case, site, code, country, team, triad) in enumerate(records):
        eff = effect[code]
        p = np.array([0.28 + 0.35 * eff, 0.2, 0.17, 0.2 - 0.15 * eff, 0.15 - 0.2 * eff]).clip(0.03)
        quality = QUALITIES[int(rng.choice(len(QUALITIES), p=p / p.sum()))]
        first = _FIRST[int(rng.integers(len(_FIRST)))]
        name = f"{first} {_SURNAME_INITIAL[int(rng.integers(len(_SURNAME_INITIAL)))]}."
        cc_full = _CC_FULL[int(rng.integers(len(_CC_FULL)))]
        carer_rel, carer_name = _CARER[int(rng.integers(len(_CARER)))]
        phone_fmt = _PHONES[country]
        team_phone = phone_fmt[int(rng.integers(len(phone_fmt)))].format(int(rng.integers(0, 1000)))
        crisis_phone = phone_fmt[0].format(int(rng.integers(0, 1000)))
        plan_day = pd.Timestamp("2025-01-06") + pd.Timedelta(days=int(rng.integers(0, 300)))
        review_day = plan_day + pd.Timedelta(days=int(rng.choice([91, 182, 365])))
        planted: list[str] = []
        ident_lines = ""
        if i in ident_plans:
            nhs = fake_nhs_number(rng)
            planted.append(f"nhs_number={nhs}")
            ident_lines = f"NHS number: {nhs}"
            if rng.random() < 0.6:
                dob = f"{int(rng.integers(1, 28)):02d}/{int(rng.integers(1, 13)):02d}/{int(rng.integers(1955, 2000))}"
                mobile = f"07700 900{int(rng.integers(0, 1000)):03d}"
                ident_lines += f"\nDOB: {dob}\nMobile: {mobile}"
                planted += [f"date_of_birth={dob}", f"phone={mobile}"]
            if rng.random() < 0.5:
                email = f"{first.lower()}.sample@example.org"
                ident_lines += f"\nEmail: {email}"
                planted.append(f"email={email}")
        goals, strengths = _pick(rng, fields["goal"], 2), _pick(rng, fields["strength"], 2)
        signs, helps = _pick(rng, fields["sign"], 3), _pick(rng, fields["helps"], 2)
        values = {
            "title": str(rng.choice(tpl["titles"][country])), "name": name, "first": first, "team": team,
            "plan_date": plan_day.strftime("%d/%m/%Y"), "review_date": review_day.strftime("%d/%m/%Y"),
            "identifiers": ident_lines, "cc_full": cc_full, "cc_first": cc_full.split()[0],
            "carer_rel": carer_rel, "carer_name": carer_name, "team_phone": team_phone, "crisis_phone": crisis_phone,
            "years": int(rng.integers(2, 20)), "goal1": goals[0], "goal2": goals[1], "strength1": strengths[0],
            "strength2": strengths[1], "sign1": signs[0], "sign2": signs[1], "sign3": signs[2],
            "helps1": helps[0], "helps2": helps[1], "diagnosis": str(rng.choice(fields["diagnosis"])),
            "preference": str(rng.choice(fields["preference"])),
        }
        for key in ("su_action", "carer_action", "cc_action", "risk_plan"):
            values[key] = str(rng.choice(fields[key])).format(cc_first=values["cc_first"], carer_name=carer_name)
        text = tpl["templates"][quality].format(**values)
        text = "\n".join(line.rstrip() for line in text.splitlines())
        text = text.replace("\n\n\n", "\n\n").replace(f"{values['plan_date']}\n\n", f"{values['plan_date']}\n")
        rows.append(dict(
            plan_id=f"CP-{code}{i + 1:03d}", respondent_id=survey_id, case=case, site=site, site_code=code,
            country=country, team=team, triad_id=triad, quality=quality,
            format="docx" if rng.random() < 0.25 else "txt", person_name=name,
            plan_date=plan_day.date().isoformat(),
            review_date=review_day.date().isoformat() if quality != "box-ticking" else None,
            planted_identifiers="; ".join(planted), text=text.strip() + "\n",
        ))
    return pd.DataFrame(rows)
