"""Synthetic questionnaire responses for the six-site study (vectorised).

Each respondent has latent traits; every item is a thresholded linear function of its trait plus noise,
so the scales have realistic internal consistency.  The therapeutic relationship (STAR-P under the
SYNTHETIC key, WAI-SR) carries a planted site effect; recovery orientation (RSA) and empowerment (ES)
carry none.  Item-level missingness and non-answer codes are added afterwards:

* RSA (person and provider): blanks, ``"N/A"`` and ``"D/K"`` text codes, and a few numeric 9 (don't know)
  and 99 (missing) codes;
* ES, STAR-P, WAI-SR: blanks and a few 99 / -9 codes;
* about 6% of service users stop part-way through a questionnaire, so some scales are prorated and a few
  cannot be scored under the minimum-answered rule.

>>> import numpy as np
>>> from recoverystudy.synthetic.surveys import service_user_survey
>>> df = service_user_survey(np.random.default_rng(0), scale=0.1)
>>> sorted(df["site"].unique())[:2]
['Afonwen', 'Ashcombe']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recoverystudy.synthetic.sites import SITES

__all__ = [
    "ES_REVERSED",
    "STAR_P_REVERSED",
    "coordinator_survey",
    "item_ids",
    "service_user_survey",
    "site_counts",
]

#: ES item numbers reversed by the SYNTHETIC key (the other nine are the synthetic "negative" items).
ES_REVERSED = (1, 3, 4, 5, 7, 8, 10, 11, 12, 14, 16, 17, 18, 20, 21, 22, 23, 25, 28)
#: STAR-P item numbers reversed by the SYNTHETIC key (the synthetic "non-supportive" items).
STAR_P_REVERSED = (3, 8, 11)

_PREFIX = {"rsa-person": ("rsa_person", 36), "rsa-provider": ("rsa_provider", 36), "es": ("es", 28),
           "star-p": ("star_p", 12), "wai-sr": ("wai", 12)}


def item_ids(instrument: str) -> list[str]:
    """Column names of an instrument's items, as in the bundled definitions.

    >>> item_ids("wai-sr")[:2]
    ['wai_01', 'wai_02']
    """
    prefix, n = _PREFIX[instrument]
    return [f"{prefix}_{i:02d}" for i in range(1, n + 1)]


def site_counts(kind: str, scale: float) -> np.ndarray:
    """Respondents per site for ``kind`` ("service_users" or "coordinators") at ``scale`` (at least 3).

    >>> site_counts("service_users", 1.0).tolist()
    [82, 78, 74, 70, 76, 70]
    """
    col = 3 if kind == "service_users" else 4
    return np.maximum(3, np.rint(np.array([s[col] for s in SITES]) * scale)).astype(int)


def _likert(rng: np.random.Generator, theta: np.ndarray, n_items: int, *, n_cat: int,
            shift: float, loading: tuple[float, float] = (0.55, 0.8)) -> np.ndarray:
    """Keyed ordinal responses 0..n_cat-1 (higher = more of the trait), one row per respondent."""
    lam = rng.uniform(*loading, size=n_items)
    difficulty = rng.uniform(-0.35, 0.35, size=n_items) + shift
    noise = rng.standard_normal((theta.size, n_items))
    z = theta[:, None] * lam[None, :] + noise * np.sqrt(1.0 - lam**2)[None, :] + difficulty[None, :]
    cuts = np.linspace(-1.5, 1.5, n_cat - 1) if n_cat > 2 else np.array([0.0])
    return np.digitize(z, cuts)


def _blank(rng: np.random.Generator, shape: tuple[int, int], p: float) -> np.ndarray:
    return rng.random(shape) < p


def _dropout(rng: np.random.Generator, n: int, n_items: int, p_person: float) -> np.ndarray:
    """Mask of items left blank by respondents who stop part-way (from a random item onwards)."""
    stops = rng.random(n) < p_person
    start = rng.integers(n_items // 4, n_items, size=n)
    cols = np.arange(n_items)[None, :]
    return stops[:, None] & (cols >= start[:, None])


def _int_frame(values: np.ndarray, missing: np.ndarray, codes: dict[int, np.ndarray], cols: list[str],
               index: pd.Index) -> pd.DataFrame:
    out = values.astype("int64")
    for code, mask in codes.items():
        out = np.where(mask, code, out)
    frame = pd.DataFrame(out, columns=cols, index=index).astype("Int64")
    return frame.mask(pd.DataFrame(missing, columns=cols, index=index))


def _rsa_frame(rng: np.random.Generator, keyed: np.ndarray, cols: list[str], index: pd.Index) -> pd.DataFrame:
    """RSA items 1-5 with blanks, N/A and D/K text codes and a few numeric 9 / 99 codes (object columns)."""
    n, k = keyed.shape
    u = rng.random((n, k))
    vals = (keyed + 1).astype(object)
    vals[u < 0.045] = "N/A"
    vals[(u >= 0.045) & (u < 0.07)] = "D/K"
    vals[(u >= 0.07) & (u < 0.073)] = 9
    vals[(u >= 0.073) & (u < 0.076)] = 99
    vals[((u >= 0.076) & (u < 0.096)) | _dropout(rng, n, k, 0.04)] = np.nan
    return pd.DataFrame(vals, columns=cols, index=index)


def service_user_survey(rng: np.random.Generator, scale: float = 1.0) -> pd.DataFrame:
    """Service users' answers to RSA (person), ES, STAR-P and WAI-SR, with demographics.

    Parameters
    ----------
    rng : numpy.random.Generator
    scale : float, default=1.0
        Multiplies the number of respondents per site (450 at ``scale=1``).

    Returns
    -------
    pandas.DataFrame
        ``respondent_id, site, site_code, country, team, coordinator_id, age, gender, ethnicity,
        employment, years_in_services`` then the item columns (``rsa_person_01``..``36``, ``es_01``..``28``,
        ``star_p_01``..``12``, ``wai_01``..``12``).  RSA columns hold 1-5, ``"N/A"``, ``"D/K"``, 9 or 99 (object
        dtype); the others are nullable integers with a few 99 / -9 codes.

    Examples
    --------
    >>> import numpy as np
    >>> df = service_user_survey(np.random.default_rng(1), scale=0.2)
    >>> len(df), df["respondent_id"].is_unique
    (90, True)
    """
    counts = site_counts("service_users", scale)
    n = int(counts.sum())
    site_idx = np.repeat(np.arange(len(SITES)), counts)
    within = np.concatenate([np.arange(1, c + 1) for c in counts])
    codes = np.array([s[0] for s in SITES])[site_idx]
    ids = np.char.add(np.char.add("SU-", codes), np.char.zfill(within.astype(str), 3))
    index = pd.RangeIndex(n)

    # latent traits: recovery orientation, empowerment, relationship (person part), correlated
    corr = np.array([[1.0, 0.35, 0.45], [0.35, 1.0, 0.30], [0.45, 0.30, 1.0]])
    latent = rng.standard_normal((n, 3)) @ np.linalg.cholesky(corr).T
    effect = np.array([s[5] for s in SITES])[site_idx]
    rec, emp, rel = latent[:, 0], latent[:, 1], latent[:, 2]
    star_theta = effect + rel
    wai_theta = 0.9 * effect + 0.85 * rel + np.sqrt(1 - 0.85**2) * rng.standard_normal(n)

    # demographics
    age = np.clip(np.rint(rng.normal(44, 13, n)), 18, 82).astype(int)
    gender = rng.choice(["Woman", "Man", "Non-binary", "Prefer not to say"], size=n, p=[0.48, 0.48, 0.015, 0.025])
    wales = np.array([s[2] == "Wales" for s in SITES])[site_idx]
    eth_names = ["White", "Asian", "Black", "Mixed", "Other", "Not stated"]
    p_eng, p_wal = [0.78, 0.08, 0.07, 0.04, 0.02, 0.01], [0.93, 0.02, 0.01, 0.02, 0.01, 0.01]
    ethnicity = np.where(wales, rng.choice(eth_names, size=n, p=p_wal), rng.choice(eth_names, size=n, p=p_eng))
    employment = rng.choice(["Unable to work", "Unemployed", "Employed", "Volunteering", "Student", "Retired"],
                            size=n, p=[0.42, 0.2, 0.16, 0.08, 0.05, 0.09])
    years = np.round(rng.gamma(2.0, 4.5, n), 1)
    teams = np.array([s[6] for s in SITES], dtype=object)
    team = np.array([t[i] for t, i in zip(teams[site_idx], rng.integers(0, 2, n))], dtype=object)
    cc_counts = site_counts("coordinators", scale)
    cc_pick = (rng.random(n) * cc_counts[site_idx]).astype(int) + 1
    coordinator = np.char.add(np.char.add("CC-", codes), np.char.zfill(cc_pick.astype(str), 2))

    frame = pd.DataFrame({
        "respondent_id": ids.astype(object), "site": np.array([s[1] for s in SITES])[site_idx].astype(object),
        "site_code": codes.astype(object), "country": np.where(wales, "Wales", "England").astype(object),
        "team": team, "coordinator_id": coordinator.astype(object), "age": age, "gender": gender.astype(object),
        "ethnicity": ethnicity.astype(object), "employment": employment.astype(object), "years_in_services": years,
    }, index=index)

    # RSA person: 1-5, recovery-orientation trait, no site effect
    rsa = _likert(rng, rec, 36, n_cat=5, shift=0.55)
    parts = [frame, _rsa_frame(rng, rsa, item_ids("rsa-person"), index)]

    # ES: keyed 1-4 (higher = more empowered), raw coding 1 = strongly agree; SYNTHETIC key
    es_keyed = _likert(rng, emp, 28, n_cat=4, shift=0.3) + 1
    es_raw = es_keyed.copy()
    rev = np.array(ES_REVERSED) - 1
    es_raw[:, rev] = 5 - es_keyed[:, rev]
    miss = _blank(rng, es_raw.shape, 0.02) | _dropout(rng, n, 28, 0.04)
    u = rng.random(es_raw.shape)
    parts.append(_int_frame(es_raw, miss, {99: u < 0.006}, item_ids("es"), index))

    # STAR-P: keyed 0-4 (higher = better relationship); SYNTHETIC key reverses the non-supportive items
    star_keyed = _likert(rng, star_theta, 12, n_cat=5, shift=0.45, loading=(0.6, 0.82))
    star_raw = star_keyed.copy()
    srev = np.array(STAR_P_REVERSED) - 1
    star_raw[:, srev] = 4 - star_keyed[:, srev]
    skipped = rng.random(n) < 0.025  # did not answer the relationship questionnaires at all
    miss = _blank(rng, star_raw.shape, 0.02) | _dropout(rng, n, 12, 0.03) | skipped[:, None]
    u = rng.random(star_raw.shape)
    parts.append(_int_frame(star_raw, miss, {99: u < 0.005, -9: (u >= 0.005) & (u < 0.008)},
                            item_ids("star-p"), index))

    # WAI-SR: 1-5 (higher = stronger alliance), no reverse keys
    wai = _likert(rng, wai_theta, 12, n_cat=5, shift=0.35, loading=(0.6, 0.82)) + 1
    miss = _blank(rng, wai.shape, 0.02) | _dropout(rng, n, 12, 0.03) | skipped[:, None]
    u = rng.random(wai.shape)
    parts.append(_int_frame(wai, miss, {99: u < 0.005}, item_ids("wai-sr"), index))
    return pd.concat(parts, axis=1)


def coordinator_survey(rng: np.random.Generator, scale: float = 1.0) -> pd.DataFrame:
    """Care coordinators' answers to the RSA provider version, with a few work characteristics.

    Returns
    -------
    pandas.DataFrame
        ``coordinator_id, site, site_code, country, team, profession, gender, years_qualified, caseload``
        then ``rsa_provider_01``..``36`` (1-5, ``"N/A"``, ``"D/K"``, 9 or 99; object dtype).

    Examples
    --------
    >>> import numpy as np
    >>> df = coordinator_survey(np.random.default_rng(0))
    >>> len(df), df["country"].value_counts()["Wales"]
    (200, np.int64(65))
    """
    counts = site_counts("coordinators", scale)
    n = int(counts.sum())
    site_idx = np.repeat(np.arange(len(SITES)), counts)
    within = np.concatenate([np.arange(1, c + 1) for c in counts])
    codes = np.array([s[0] for s in SITES])[site_idx]
    ids = np.char.add(np.char.add("CC-", codes), np.char.zfill(within.astype(str), 2))
    index = pd.RangeIndex(n)
    wales = np.array([s[2] == "Wales" for s in SITES])[site_idx]
    teams = np.array([s[6] for s in SITES], dtype=object)
    team = np.array([t[i] for t, i in zip(teams[site_idx], rng.integers(0, 2, n))], dtype=object)
    frame = pd.DataFrame({
        "coordinator_id": ids.astype(object), "site": np.array([s[1] for s in SITES])[site_idx].astype(object),
        "site_code": codes.astype(object), "country": np.where(wales, "Wales", "England").astype(object),
        "team": team,
        "profession": rng.choice(["Nurse", "Social worker", "Occupational therapist", "Psychologist", "Other"],
                                 size=n, p=[0.52, 0.25, 0.14, 0.05, 0.04]).astype(object),
        "gender": rng.choice(["Woman", "Man", "Prefer not to say"], size=n, p=[0.7, 0.28, 0.02]).astype(object),
        "years_qualified": np.clip(np.round(rng.gamma(2.2, 5.0, n), 1), 0.5, 40),
        "caseload": np.clip(np.rint(rng.normal(31, 7, n)), 10, 55).astype(int),
    }, index=index)
    rsa = _likert(rng, rng.standard_normal(n), 36, n_cat=5, shift=0.75)
    return pd.concat([frame, _rsa_frame(rng, rsa, item_ids("rsa-provider"), index)], axis=1)
