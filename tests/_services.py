"""Real components the tests start themselves: Debian's Chromium and PostgreSQL server binaries.

Outside CI a missing component makes the tests that need it skip, with the reason.  Under ``CI=true`` a
missing component fails those tests instead, so CI always exercises them (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run must install it)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    """Path of Debian's Chromium (``RS_CHROMIUM`` overrides), or skip/fail with the reason."""
    candidates = [os.environ.get("RS_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")]
    for c in candidates:
        if c and Path(c).exists():
            try:
                import playwright  # noqa: F401
            except ImportError:
                _missing("the Python package playwright is not installed")
            return c
    _missing("no Chromium browser found (apt-get install chromium)")
    raise AssertionError("unreachable")


def postgres_bindir() -> Path:
    """Folder with PostgreSQL's initdb/pg_ctl/postgres (``RS_PG_BIN`` overrides), or skip/fail."""
    env = os.environ.get("RS_PG_BIN")
    candidates = [Path(env)] if env else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            try:
                import psycopg  # noqa: F401
            except ImportError:
                _missing("the Python package psycopg is not installed")
            return c
    _missing("no PostgreSQL server binaries found (apt-get install postgresql)")
    raise AssertionError("unreachable")
