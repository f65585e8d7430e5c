"""The synthetic six-site study object: ``six_site_study(seed=0, scale=1.0)``.

Everything in it is invented.  It stands in for a confidential study like COCAPP (four English and two
Welsh sites; about 450 service users, 200 care coordinators, 120 interviews and 33 care plans), so that
newcomers, teachers and reviewers can run every part of recoverystudy end to end.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from recoverystudy.errors import RecoveryStudyError
from recoverystudy.synthetic.care_plans import care_plans as _care_plans
from recoverystudy.synthetic.sites import site_table
from recoverystudy.synthetic.surveys import coordinator_survey, service_user_survey
from recoverystudy.synthetic.transcripts import interview_transcripts

__all__ = ["SixSiteStudy", "six_site_study"]

_KEY_FILES = {"es": "es-synthetic.yaml", "star-p": "star-p-synthetic.yaml"}

#: What the generator planted, so that a reader (or a test) knows what the analysis should find.
PLANTED = {
    "site_difference": "therapeutic relationship (STAR-P under the synthetic key, WAI-SR) differs between sites",
    "no_site_difference": "recovery orientation (RSA person and provider) and empowerment (ES) do not",
    "relationship_effects": {s: e for s, e in zip(site_table()["site"], site_table()["relationship_effect"])},
}


@dataclass(frozen=True, repr=False)
class SixSiteStudy:
    """A synthetic six-site study (4 English, 2 Welsh sites).  All data are invented.

    Attributes
    ----------
    seed : int
        Seed of the :class:`numpy.random.Generator` that produced everything.
    scale : float
        Multiplier of every count (1.0 gives about 450 service users, 200 coordinators, 120 interviews and
        33 care plans).
    sites : pandas.DataFrame
        ``site_code, site, country, n_service_users, n_coordinators, relationship_effect, teams``.
    service_users : pandas.DataFrame
        One row per service user: ids, site, country, team, coordinator, demographics and the item columns of
        ``rsa-person`` (1-5, "N/A", "D/K", 9, 99), ``es`` (1-4, 1 = strongly agree; 99), ``star-p`` (0-4; 99, -9)
        and ``wai-sr`` (1-5; 99).
    coordinators : pandas.DataFrame
        One row per care coordinator: ids, site, team, profession, work characteristics, ``rsa-provider`` items.
    interviews : pandas.DataFrame
        ``name, case, role, site, site_code, country, team, triad_id, survey_id, speaker, themes, tones, n_words,
        text``.
    care_plans : pandas.DataFrame
        ``plan_id, respondent_id, case, site, site_code, country, team, triad_id, quality, format, person_name,
        plan_date, review_date, planted_identifiers, text``.
    planted : dict
        What the generator planted (the site effects), for checking an analysis against the truth.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> study = rs.synthetic.six_site_study(seed=0, scale=0.2)
    >>> study.sites["country"].value_counts().to_dict()
    {'England': 4, 'Wales': 2}
    >>> study.key_path("star-p").name
    'star-p-synthetic.yaml'
    """

    seed: int
    scale: float
    sites: pd.DataFrame
    service_users: pd.DataFrame
    coordinators: pd.DataFrame
    interviews: pd.DataFrame
    care_plans: pd.DataFrame
    planted: dict = field(default_factory=lambda: dict(PLANTED))

    def __repr__(self) -> str:
        return (f"SixSiteStudy(seed={self.seed}, scale={self.scale}: {len(self.sites)} sites, "
                f"{len(self.service_users)} service users, {len(self.coordinators)} care coordinators, "
                f"{len(self.interviews)} interviews, {len(self.care_plans)} care plans; SYNTHETIC data)")

    def summary(self) -> str:
        """Describe the study in plain words.

        Examples
        --------
        >>> import recoverystudy as rs
        >>> print(rs.synthetic.six_site_study(scale=0.2).summary().splitlines()[0])
        Synthetic six-site study (seed 0, scale 0.2). All data are invented.
        """
        roles = self.interviews["role"].value_counts()
        by_country = self.sites.groupby("country")["site"].apply(", ".join)
        return "\n".join([
            f"Synthetic six-site study (seed {self.seed}, scale {self.scale}). All data are invented.",
            f"Sites: England - {by_country.get('England', '')}; Wales - {by_country.get('Wales', '')}.",
            f"Surveys: {len(self.service_users)} service users (RSA person, Empowerment Scale, STAR-P, WAI-SR) and "
            f"{len(self.coordinators)} care coordinators (RSA provider).",
            "Interviews: " + ", ".join(f"{v} {k}s" for k, v in roles.items())
            + f" ({self.interviews['triad_id'].nunique()} triads).",
            f"Care plans: {len(self.care_plans)} ("
            + ", ".join(f"{v} {k}" for k, v in self.care_plans["quality"].value_counts().items()) + ").",
            "Planted: the therapeutic relationship differs between sites; recovery orientation and empowerment "
            "do not. ES and STAR-P are scored with SYNTHETIC keys (not the published keys).",
        ])

    def key_path(self, instrument: str) -> Path:
        """Path of the SYNTHETIC key shipped for ``instrument`` ("es" or "star-p").

        These keys were invented to generate the synthetic answers; they are NOT the published keys and
        must never be used on real data.

        Raises
        ------
        KeyError
            For an instrument without a synthetic key.
        """
        if instrument not in _KEY_FILES:
            raise KeyError(f"No synthetic key for {instrument!r}; synthetic keys exist for "
                           f"{', '.join(map(repr, _KEY_FILES))}. The other instruments score with their bundled keys.")
        ref = resources.files("recoverystudy.synthetic").joinpath("keys").joinpath(_KEY_FILES[instrument])
        return Path(str(ref))

    def write(self, folder: str | os.PathLike) -> dict[str, Path]:
        """Write the raw files a study team would hold, so analyses can start from files.

        Layout::

            folder/README.txt                    what this is (synthetic) and what is where
            folder/sites.csv
            folder/surveys/service_users.csv     item answers with N/A, D/K, 9/99/-9 codes as typed
            folder/surveys/care_coordinators.csv
            folder/interviews/<name>.txt         one transcript per interview
            folder/interviews/interviews.csv     metadata (no text): case, role, site, triad, survey id ...
            folder/care_plans/<plan_id>.txt|.docx
            folder/care_plans/care_plans.csv     metadata (no text): plan, team, linked survey id ...
            folder/keys/es-synthetic.yaml, star-p-synthetic.yaml   the SYNTHETIC keys

        Existing files of the same names are overwritten; nothing else in ``folder`` is touched.

        Returns
        -------
        dict
            ``{"service_users", "coordinators", "interviews", "interview_metadata", "care_plans",
            "care_plan_metadata", "sites", "keys", "readme"}`` -> path.

        Examples
        --------
        >>> import tempfile, recoverystudy as rs
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     paths = rs.synthetic.six_site_study(scale=0.1).write(tmp)
        ...     sorted(p.name for p in paths["interviews"].iterdir())[:1]
        ['A-CC01_interview.txt']
        """
        root = Path(folder)
        if root.exists() and not root.is_dir():
            raise RecoveryStudyError(f"Cannot write the synthetic study to {root}: it is a file, not a folder.")
        dirs = {k: root / k for k in ("surveys", "interviews", "care_plans", "keys")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        out = {"sites": root / "sites.csv", "service_users": dirs["surveys"] / "service_users.csv",
               "coordinators": dirs["surveys"] / "care_coordinators.csv", "interviews": dirs["interviews"],
               "interview_metadata": dirs["interviews"] / "interviews.csv", "care_plans": dirs["care_plans"],
               "care_plan_metadata": dirs["care_plans"] / "care_plans.csv", "keys": dirs["keys"],
               "readme": root / "README.txt"}
        self.sites.to_csv(out["sites"], index=False)
        self.service_users.to_csv(out["service_users"], index=False)
        self.coordinators.to_csv(out["coordinators"], index=False)
        for name, text in zip(self.interviews["name"], self.interviews["text"]):
            (dirs["interviews"] / f"{name}.txt").write_text(text, encoding="utf-8")
        self.interviews.drop(columns=["text"]).to_csv(out["interview_metadata"], index=False)
        for plan_id, fmt, text in zip(self.care_plans["plan_id"], self.care_plans["format"], self.care_plans["text"]):
            if fmt == "docx":
                _write_docx(dirs["care_plans"] / f"{plan_id}.docx", text)
            else:
                (dirs["care_plans"] / f"{plan_id}.txt").write_text(text, encoding="utf-8")
        meta = self.care_plans.drop(columns=["text", "person_name", "planted_identifiers"])
        meta.to_csv(out["care_plan_metadata"], index=False)
        for inst in _KEY_FILES:
            (dirs["keys"] / _KEY_FILES[inst]).write_text(self.key_path(inst).read_text("utf-8"), encoding="utf-8")
        out["readme"].write_text(_README.format(summary=self.summary()), encoding="utf-8")
        return out


_README = """SYNTHETIC DATA - recoverystudy six-site study
=============================================

Everything in this folder was generated by recoverystudy.synthetic.six_site_study().
No real person, site, team or care plan is described.  Names are invented; telephone numbers are from
Ofcom's drama ranges; NHS numbers are from the 999 test range (a few plans carry them on purpose, so
that redaction can be demonstrated).

{summary}

surveys/service_users.csv      one row per service user; item columns as typed (N/A, D/K, 9, 99, -9 codes)
surveys/care_coordinators.csv  one row per care coordinator (RSA provider version)
interviews/*.txt               transcripts with speaker turns (Interviewer:, SU07:, Carer:, CC:, Manager:)
interviews/interviews.csv      case, role, site, triad and linked survey id of each transcript
care_plans/*.txt, *.docx       care plans of varied quality
care_plans/care_plans.csv      team and linked survey id of each plan
keys/*.yaml                    SYNTHETIC scoring keys for the Empowerment Scale and STAR-P.  They were
                               invented to generate these data and are NOT the published keys.
"""


def _write_docx(path: Path, text: str) -> None:
    import docx

    document = docx.Document()
    blocks = text.split("\n\n")
    for b, block in enumerate(blocks):
        lines = block.split("\n")
        if b == 0:
            document.add_heading(lines[0], level=1)
            lines = lines[1:]
        elif len(lines) > 1 and len(lines[0]) < 45 and not lines[0].rstrip().endswith("."):
            document.add_heading(lines[0], level=2)
            lines = lines[1:]
        for line in lines:
            document.add_paragraph(line)
    document.core_properties.author = "recoverystudy synthetic data"
    document.save(str(path))


def six_site_study(seed: int = 0, scale: float = 1.0) -> SixSiteStudy:
    """Generate the synthetic six-site study.

    Parameters
    ----------
    seed : int, default=0
        Seed for :func:`numpy.random.default_rng`; the same seed and scale always give the same study.
    scale : float, default=1.0
        Multiplies every count (service users, coordinators, interviews, care plans), e.g. ``scale=10`` for
        benchmarks.  Must be positive.

    Returns
    -------
    SixSiteStudy

    Raises
    ------
    ValueError
        ``scale`` not a positive number or ``seed`` not a whole number.

    Notes
    -----
    Planted pattern: service users' therapeutic-relationship scores (STAR-P under the SYNTHETIC key,
    WAI-SR) differ between sites (latent site effects in ``study.sites.relationship_effect``); recovery
    orientation (RSA) and empowerment (ES) have no site effect.  At ``seed=0`` Welch's test finds the
    relationship difference (p < .001) and none for RSA or ES (p > .4).

    Examples
    --------
    >>> import recoverystudy as rs
    >>> study = rs.synthetic.six_site_study(seed=0)
    >>> len(study.service_users), len(study.coordinators), len(study.interviews), len(study.care_plans)
    (450, 200, 120, 33)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be a whole number; got {seed!r}.")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number; got {scale!r}.")
    rng = np.random.default_rng(int(seed))
    service_users = service_user_survey(rng, float(scale))
    coordinators = coordinator_survey(rng, float(scale))
    interviews = interview_transcripts(rng, service_users, coordinators, float(scale))
    plans = _care_plans(rng, service_users, interviews, float(scale))
    return SixSiteStudy(seed=int(seed), scale=float(scale), sites=site_table(), service_users=service_users,
                        coordinators=coordinators, interviews=interviews, care_plans=plans)
