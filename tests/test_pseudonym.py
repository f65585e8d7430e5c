"""Keyed pseudonyms (HMAC-SHA256) and secret handling."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy.errors import PrivacyError
from recoverystudy.privacy.pseudonym import key_fingerprint

SECRET = "correct horse battery staple"


def test_matches_hmac_sha256_by_hand():
    expected = "P-" + hmac.new(SECRET.encode(), b"plan-001", hashlib.sha256).hexdigest()[:12]
    assert rs.pseudonymise("plan-001", SECRET) == expected == "P-c063f1047bfb"


def test_series_keeps_index_and_normalises():
    s = pd.Series([" plan-001", "plan-001 ", "plan-002"], index=[10, 11, 12])
    out = rs.pseudonymise(s, SECRET)
    assert list(out.index) == [10, 11, 12]
    assert out.iloc[0] == out.iloc[1] != out.iloc[2]


def test_different_secret_different_pseudonym_and_not_unkeyed_hash():
    a = rs.pseudonymise("943 476 5919", SECRET)
    b = rs.pseudonymise("943 476 5919", SECRET + "!")
    assert a != b
    assert a[2:] != hashlib.sha256(b"943 476 5919").hexdigest()[:12]


@pytest.mark.parametrize("length", [3, 65, "12"])
def test_bad_length(length):
    with pytest.raises(ValueError, match="length"):
        rs.pseudonymise("x", SECRET, length=length)


def test_short_secret_refused():
    with pytest.raises(PrivacyError, match="too short"):
        rs.pseudonymise("x", "short")


def test_load_secret_file_and_env(tmp_path, monkeypatch):
    f = tmp_path / "secret.txt"
    f.write_text(SECRET + "\n", encoding="utf-8")
    assert rs.load_secret(f) == SECRET
    monkeypatch.setenv("RECOVERYSTUDY_SECRET", "env-secret-0123456789")
    assert rs.load_secret() == "env-secret-0123456789"
    monkeypatch.delenv("RECOVERYSTUDY_SECRET")
    assert rs.load_secret() is None
    with pytest.raises(PrivacyError, match="does not exist"):
        rs.load_secret(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(PrivacyError, match="empty"):
        rs.load_secret(tmp_path / "empty.txt")


def test_fingerprint_reveals_nothing_but_is_stable():
    fp = key_fingerprint(SECRET)
    assert fp == key_fingerprint(SECRET) and fp.startswith("k-") and SECRET not in fp
    assert fp != key_fingerprint(SECRET + "x")
