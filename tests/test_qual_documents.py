"""Tests for recoverystudy.qual.documents and recoverystudy.qual.text (sample files: tests/data/documents)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from recoverystudy.errors import DocumentReadError
from recoverystudy.qual.documents import read_document
from recoverystudy.qual.text import sentence_spans, stem, word_spans

DATA = Path(__file__).parent / "data" / "documents"
FULL = "Interviewer: Do you have a copy of your care plan?\nSU01: Yes, my care coordinator gave me one – last week."


@pytest.mark.parametrize(
    "name, fmt, encoding, expected",
    [
        ("utf8.txt", "txt", "utf-8", FULL),
        ("utf8_bom.txt", "txt", "utf-8-sig", FULL),
        ("cp1252.txt", "txt", "cp1252", FULL),
        ("notes.md", "md", "utf-8", "# Notes\n\n" + FULL + "\n"),
        ("sample.docx", "docx", None, FULL),
        ("sample.odt", "odt", None, FULL),
        ("sample.rtf", "rtf", None, FULL + "\n"),
        (
            "sample.pdf",
            "pdf",
            None,
            "Interviewer: Do you have a copy of your care plan?\nSU01: Yes, my care coordinator gave me one.",
        ),
    ],
)
def test_read_document_formats(name, fmt, encoding, expected):
    doc = read_document(DATA / name)
    assert doc.text == expected
    assert doc.source_format == fmt
    assert doc.encoding == encoding
    assert doc.sha256 == hashlib.sha256(expected.encode("utf-8")).hexdigest()
    assert doc.path == str(DATA / name)
    assert "\r" not in doc.text


def test_same_text_same_hash_across_encodings():
    hashes = {read_document(DATA / n).sha256 for n in ("utf8.txt", "utf8_bom.txt", "cp1252.txt", "sample.docx")}
    assert len(hashes) == 1


@pytest.mark.parametrize(
    "name, reason_part",
    [
        ("empty.txt", "empty"),
        ("blank.txt", "empty"),
        ("binary.txt", "binary"),
        ("corrupt.docx", "corrupt"),
        ("notzip.odt", "corrupt"),
        ("corrupt.pdf", "corrupt"),
        ("encrypted.pdf", "password-protected"),
        ("plain.rtf", "not RTF"),
        ("sheet.xlsx", "not supported"),
        ("missing.txt", "does not exist"),
    ],
)
def test_unreadable_documents(name, reason_part):
    with pytest.raises(DocumentReadError) as info:
        read_document(DATA / name)
    err = info.value
    assert reason_part in err.reason
    assert err.file == str(DATA / name)
    assert name in str(err)
    assert isinstance(err, OSError)


def test_utf16_named(tmp_path):
    f = tmp_path / "u16.txt"
    f.write_bytes("hello".encode("utf-16"))
    with pytest.raises(DocumentReadError, match="UTF-16"):
        read_document(f)


def test_sentence_spans_care_plan_abbreviations():
    text = "Seen by Dr. Patel on 3 May. NHS no. 943 476 5919 recorded.\nMrs. Jones agreed, e.g. with her son. Done."
    got = [text[a:b] for a, b in sentence_spans(text)]
    assert got == [
        "Seen by Dr. Patel on 3 May.",
        "NHS no. 943 476 5919 recorded.",
        "Mrs. Jones agreed, e.g. with her son.",
        "Done.",
    ]


def test_sentence_spans_offsets_and_newlines():
    text = "Interviewer: Why?\n\nSU01: Because. It matters!  Really?"
    spans = sentence_spans(text)
    assert spans == [(0, 17), (19, 33), (34, 45), (47, 54)]
    assert text[47:54] == "Really?"


def test_word_spans_and_stems():
    text = "Care-planning: my mum’s plans"
    assert [text[a:b] for a, b in word_spans(text)] == ["Care", "planning", "my", "mum’s", "plans"]
    assert stem("planning") == stem("plans") == "plan"
    assert stem("Recovery") == "recoveri"
