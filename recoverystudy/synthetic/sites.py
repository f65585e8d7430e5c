"""The six pseudonymous sites of the synthetic study (4 in England, 2 in Wales).

The names are invented.  Each site carries the counts used at ``scale=1`` and the planted
site effect on the therapeutic relationship (in standard-deviation units of the latent trait).
Recovery orientation (RSA) and empowerment (ES) have no planted site effect.

>>> from recoverystudy.synthetic.sites import site_table
>>> site_table()[["site", "country"]].head(2)
       site  country
0  Ashcombe  England
1   Bramley  England
"""

from __future__ import annotations

import pandas as pd

__all__ = ["SITES", "site_table"]

#: (code, pseudonymous name, country, service users, coordinators, relationship effect, team names)
SITES: tuple[tuple[str, str, str, int, int, float, tuple[str, str]], ...] = (
    ("A", "Ashcombe", "England", 82, 36, 0.40, ("Ashcombe North CMHT", "Ashcombe Recovery Team")),
    ("B", "Bramley", "England", 78, 34, 0.00, ("Bramley Community Team", "Bramley Early Intervention")),
    ("C", "Calderbrook", "England", 74, 33, -0.45, ("Calderbrook East CMHT", "Calderbrook West CMHT")),
    ("D", "Dunmere", "England", 70, 32, 0.15, ("Dunmere Assertive Outreach", "Dunmere CMHT")),
    ("E", "Afonwen", "Wales", 76, 33, -0.20, ("Afonwen CMHT", "Afonwen Recovery Service")),
    ("F", "Glanrhyd", "Wales", 70, 32, 0.35, ("Glanrhyd Community Team", "Glanrhyd Support Service")),
)


def site_table() -> pd.DataFrame:
    """Return one row per site: code, name, country, counts at ``scale=1``, planted effect, teams.

    Examples
    --------
    >>> t = site_table()
    >>> int(t["n_service_users"].sum()), int(t["n_coordinators"].sum())
    (450, 200)
    """
    rows = [
        {
            "site_code": code,
            "site": name,
            "country": country,
            "n_service_users": n_su,
            "n_coordinators": n_cc,
            "relationship_effect": eff,
            "teams": "; ".join(teams),
        }
        for code, name, country, n_su, n_cc, eff, teams in SITES
    ]
    return pd.DataFrame(rows)
