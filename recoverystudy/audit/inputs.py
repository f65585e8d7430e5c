"""Collect care plans from a folder, a list of files, a DataFrame or a Project.

Files are read with :func:`recoverystudy.qual.documents.read_document` (.txt, .md, .docx, .odt,
.rtf, .pdf).  Files that cannot be read (empty, binary, password-protected, corrupt or of an
unsupported type) are listed as skipped with the reason, and the run continues.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from recoverystudy.errors import AuditError, DocumentReadError, RecoveryStudyWarning

__all__ = ["PLAN_SUFFIXES", "collect_plans", "read_plan_metadata", "read_team_metadata"]

PLAN_SUFFIXES = (".txt", ".md", ".docx", ".odt", ".rtf", ".pdf")
_PLAN_SUFFIX = r"(?i)\.(?:" + "|".join(ext.lstrip(".") for ext in PLAN_SUFFIXES) + r")$"
PLAN_COLUMNS = ["plan_id", "text", "team", "country", "source_format", "sha256", "path"]
SKIPPED_COLUMNS = ["plan_id", "path", "reason", "detail"]


def _read(path: Path):
    """Return (text, source_format, sha256) or raise DocumentReadError."""
    try:
        from recoverystudy.qual.documents import read_document
    except ImportError:  # pragma: no cover - the workspace module ships with the package
        read_document = None
    if read_document is not None:
        doc = read_document(path)
        return doc.text, doc.source_format, doc.sha256
    return _fallback_read(path)  # pragma: no cover


def _fallback_read(path: Path):  # pragma: no cover - used only if recoverystudy.qual is absent
    suffix = path.suffix.lower()
    data = path.read_bytes()
    if not data.strip():
        raise DocumentReadError(f"{path.name}: the file is empty.", file=str(path), reason="empty")
    if suffix not in (".txt", ".md"):
        raise DocumentReadError(
            f"{path.name}: reading {suffix} files needs recoverystudy.qual.documents.",
            file=str(path),
            reason="unsupported",
        )
    if b"\x00" in data[:4096]:
        raise DocumentReadError(
            f"{path.name}: the file is binary, not text.", file=str(path), reason="binary"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentReadError(f"{path.name}: not UTF-8 text.", file=str(path), reason="binary") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, suffix.lstrip("."), hashlib.sha256(text.encode("utf-8")).hexdigest()


def _skip_reason(exc: Exception) -> tuple[str, str]:
    """(short reason code safe to share, full message for the user's own screen)."""
    reason = str(getattr(exc, "reason", "") or "unreadable")
    return reason.split(":")[0].strip() or "unreadable", str(exc)


def _from_paths(paths: Sequence[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, skipped = [], []
    for path in paths:
        if path.suffix.lower() not in PLAN_SUFFIXES:
            skipped.append(
                (
                    path.name,
                    str(path),
                    "unsupported",
                    f"{path.name}: unsupported file type {path.suffix or '(none)'!r}",
                )
            )
            continue
        try:
            text, fmt, digest = _read(path)
        except DocumentReadError as exc:
            skipped.append((path.name, str(path), *_skip_reason(exc)))
            continue
        except OSError as exc:
            skipped.append(
                (path.name, str(path), "cannot open", f"{path.name}: cannot open ({exc.strerror or exc})")
            )
            continue
        if not text.strip():
            skipped.append((path.name, str(path), "empty", f"{path.name}: the file has no text"))
            continue
        rows.append((path.name, text, None, None, fmt, digest, str(path)))
    plans = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    return plans, pd.DataFrame(skipped, columns=SKIPPED_COLUMNS)


def collect_plans(plans, *, team=None, country=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (plans, skipped) frames from any supported input.

    *plans* may be a folder (its files, not sub-folders; hidden files ignored), a list of paths,
    a DataFrame with ``plan_id`` and ``text`` (and optionally ``team`` and ``country``) or a
    :class:`recoverystudy.Project` (documents with kind "care_plan").  *team* and *country* are
    each a mapping plan_id -> value, a Series, a column name (DataFrame input) or a case
    attribute name (Project).
    """
    if isinstance(plans, (str, os.PathLike)):
        folder = Path(plans)
        if not folder.exists():
            raise AuditError(f"The plans folder {str(folder)!r} does not exist.", file=str(folder))
        if folder.is_file():
            paths = [folder]
        else:
            paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
            if not paths:
                raise AuditError(f"The plans folder {str(folder)!r} holds no files.", file=str(folder))
        frame, skipped = _from_paths(paths)
    elif isinstance(plans, pd.DataFrame):
        missing = [c for c in ("plan_id", "text") if c not in plans.columns]
        if missing:
            raise AuditError(
                f"The plans DataFrame needs columns 'plan_id' and 'text'; missing {', '.join(map(repr, missing))}."
            )
        frame = pd.DataFrame(
            {
                "plan_id": plans["plan_id"].astype(str).to_numpy(),
                "text": plans["text"].astype(object).to_numpy(),
                "team": (plans["team"].astype(object).to_numpy() if "team" in plans.columns else None),
                "country": (
                    plans["country"].astype(object).to_numpy() if "country" in plans.columns else None
                ),
                "source_format": "dataframe",
            }
        )
        bad = frame["text"].map(lambda t: not isinstance(t, str) or not t.strip())
        skipped = pd.DataFrame(
            {
                "plan_id": frame.loc[bad, "plan_id"],
                "path": "",
                "reason": "empty",
                "detail": "the plan has no text",
            }
        )
        frame = frame.loc[~bad].reset_index(drop=True)
        frame["sha256"] = frame["text"].map(lambda t: hashlib.sha256(t.encode("utf-8")).hexdigest())
        frame["path"] = ""
        frame = frame[PLAN_COLUMNS]
    elif hasattr(plans, "documents") and hasattr(plans, "document_text"):
        docs = plans.documents(kind="care_plan")
        if len(docs) == 0:
            raise AuditError("The project holds no documents of kind 'care_plan'.")
        texts = [plans.document_text(name) for name in docs["name"]]
        from_cases: dict = {"team": None, "country": None}
        for label, value in (("team", team), ("country", country)):
            if isinstance(value, str) and "case" in docs.columns:
                cases = plans.cases()
                if value in cases.columns:
                    key = cases.set_index("case")[value] if "case" in cases.columns else cases[value]
                    from_cases[label] = docs["case"].map(key).to_numpy()
        if from_cases["team"] is not None:
            team = None
        if from_cases["country"] is not None:
            country = None
        frame = pd.DataFrame(
            {
                "plan_id": docs["name"].astype(str).to_numpy(),
                "text": texts,
                "team": from_cases["team"],
                "country": from_cases["country"],
                "source_format": docs["source_format"].to_numpy() if "source_format" in docs else "project",
                "sha256": docs["sha256"].to_numpy() if "sha256" in docs else None,
                "path": "",
            }
        )[PLAN_COLUMNS]
        skipped = pd.DataFrame(columns=SKIPPED_COLUMNS)
    elif isinstance(plans, (list, tuple)):
        frame, skipped = _from_paths([Path(p) for p in plans])
    else:
        raise TypeError(
            "plans must be a folder, a list of files, a DataFrame (plan_id, text[, team]) or a Project; "
            f"got {type(plans).__name__}."
        )
    if frame["plan_id"].duplicated().any():
        dup = frame.loc[frame["plan_id"].duplicated(), "plan_id"].iloc[0]
        raise AuditError(f"Plan id {dup!r} occurs more than once; plan ids must be unique.", plan=dup)
    for label, value in (("team", team), ("country", country)):
        _attach(frame, plans, label, value)
    return frame.reset_index(drop=True), skipped.reset_index(drop=True)


def _attach(frame: pd.DataFrame, plans, label: str, value) -> None:
    """Fill frame[label] (team or country) from a mapping, a Series or a DataFrame column name."""
    if value is not None and not (isinstance(value, str) and isinstance(plans, pd.DataFrame)):
        mapping = value if isinstance(value, (dict, pd.Series)) else None
        if mapping is None:
            raise TypeError(
                f"{label} must be a mapping or Series plan_id -> {label} (or a column name for a DataFrame)."
            )
        frame[label] = _lookup(frame["plan_id"], mapping, label)
    elif isinstance(value, str) and isinstance(plans, pd.DataFrame):
        if value not in plans.columns:
            raise AuditError(f"The plans DataFrame has no {label} column {value!r}.")
        frame[label] = (
            plans.loc[plans["plan_id"].astype(str).isin(frame["plan_id"]), value].astype(object).to_numpy()
        )
    frame[label] = frame[label].astype(object)


def match_plan_ids(plan_ids: pd.Series, mapping) -> pd.Series:
    """The value of *mapping* for each plan id, by the exact id or else by the file name without its
    extension ("CP-A001" for "CP-A001.txt", as metadata from a records system usually has) when that
    name is unique among the plans.  Unmatched plans get NaN.

    Examples
    --------
    >>> ids = pd.Series(["CP-1.txt", "CP-2.docx", "CP-3.txt"])
    >>> match_plan_ids(ids, {"CP-1": "North", "CP-2.docx": "South"}).tolist()
    ['North', 'South', nan]
    """
    keys = {str(k): v for k, v in dict(mapping).items()}
    ids = plan_ids.astype(str)
    stems = ids.str.replace(_PLAN_SUFFIX, "", regex=True)
    by_stem = stems.where(~stems.duplicated(keep=False)).map(keys)
    return ids.map(keys).where(ids.isin(keys.keys()), by_stem)


def _lookup(plan_ids: pd.Series, mapping, label: str) -> pd.Series:
    """plan_id -> value from *mapping* (see :func:`match_plan_ids`).  No match at all is an error;
    plans left without a value are named in a warning, never dropped silently."""
    keys = {str(k): v for k, v in dict(mapping).items()}
    ids = plan_ids.astype(str)
    values = match_plan_ids(ids, keys)
    if len(keys) and len(ids) and values.isna().all():
        raise AuditError(
            f"The {label} mapping matches none of the {len(ids)} plans: plan ids look like "
            f"{', '.join(map(repr, ids.iloc[:3]))}, mapping keys like {', '.join(map(repr, list(keys)[:3]))}."
        )
    unmatched = ids[values.isna()]
    if len(keys) and len(unmatched):
        warnings.warn(
            f"{len(unmatched)} of {len(ids)} plans have no {label} in the mapping (e.g. "
            f"{', '.join(map(repr, unmatched.iloc[:3]))}); they are reported without a {label}.",
            RecoveryStudyWarning, stacklevel=4)
    return values.astype(object).where(values.notna(), None)


def read_team_metadata(path: str | os.PathLike) -> dict[str, str]:
    """Read a CSV mapping plans to teams: a ``plan`` (or ``plan_id``/``file``) column and a ``team`` column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "teams.csv"
    >>> _ = p.write_text("plan,team\\nplan_01.txt,North\\n")
    >>> read_team_metadata(p)
    {'plan_01.txt': 'North'}
    """
    return read_plan_metadata(path, "team")


def read_plan_metadata(path: str | os.PathLike, column: str = "team") -> dict[str, str]:
    """Read one column of a plan metadata CSV as a mapping plan -> value.

    The CSV needs a ``plan`` (or ``plan_id``/``file``/``filename``) column and *column*, e.g.
    ``team`` or ``country`` (one file may hold both).  Empty cells are left out of the mapping.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "plans.csv"
    >>> _ = p.write_text("plan,team,country\\nplan_01.txt,North,Wales\\nplan_02.txt,South,\\n")
    >>> read_plan_metadata(p, "country")
    {'plan_01.txt': 'Wales'}
    """
    p = Path(path)
    what = f"{column} metadata file"
    if not p.is_file():
        raise AuditError(f"The {what} {str(p)!r} does not exist.", file=str(p))
    try:
        meta = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise AuditError(f"Cannot read the {what} {str(p)!r}: {exc}", file=str(p)) from None
    key = next((c for c in ("plan", "plan_id", "file", "filename") if c in meta.columns), None)
    if key is None or column not in meta.columns:
        raise AuditError(
            f"{p.name}: needs a 'plan' (or 'plan_id'/'file') column and a '{column}' column; "
            f"found {', '.join(meta.columns)}.",
            file=str(p),
        )
    dup = meta[key][meta[key].duplicated()]
    if len(dup):
        raise AuditError(f"{p.name}: plan {dup.iloc[0]!r} is listed more than once.", file=str(p))
    values = meta[column].str.strip()
    if column == "team":  # unchanged behaviour: every listed plan, even with an empty team
        return dict(zip(meta[key], meta[column]))
    return {k: v for k, v in zip(meta[key], values) if v}
