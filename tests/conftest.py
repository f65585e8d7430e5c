"""Shared test configuration.

Tests never need R: reference values produced by the R scripts in ``tests/reference/`` are stored
as JSON fixtures beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REFERENCE = Path(__file__).parent / "reference"


def load_fixture(name: str) -> dict:
    """Load ``tests/reference/<name>`` (a JSON file written by one of the R scripts)."""
    with open(REFERENCE / name, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture
def fixture_loader():
    return load_fixture
