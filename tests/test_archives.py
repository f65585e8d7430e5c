"""Zip archives are inflated in bounded chunks and refused by the bytes they actually produce (issue 14, item 6).

The archives are written by hand (local headers, central directory) so that the header sizes can lie.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest

import recoverystudy as rs
from recoverystudy._archive import ArchiveLimits, SafeZip, check_zip
from recoverystudy.errors import (
    DocumentReadError,
    ImportFormatError,
    SurveyReadError,
    UnsafeArchiveError,
    UnsafeDocumentError,
    UnsafeSurveyFileError,
)

MiB = 1024 ** 2
GiB = 1024 ** 3


def zeros_deflate(n_mib: int) -> bytes:
    """A raw deflate stream inflating to ``n_mib`` MiB of zeros, built without compressing them all.

    One MiB of zeros is compressed and full-flushed (which resets the compressor), so the same block can be
    repeated; an empty final block ends the stream.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(MiB)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    assert first == block  # the compressor state is the same after each full flush
    return block * n_mib + c.flush(zlib.Z_FINISH)


def build_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """Members as (name, deflate data, declared size, crc): sizes written as given, true or not."""
    out = io.BytesIO()
    central = []
    for name, data, declared, crc in members:
        offset = out.tell()
        raw_name = name.encode()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), declared,
                              len(raw_name), 0) + raw_name + data)
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data),
                                   declared, len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name)
    start = out.tell()
    for entry in central:
        out.write(entry)
    size = out.tell() - start
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), size, start, 0))
    return out.getvalue()


def test_the_bomb_builder_is_honest():
    stream = zeros_deflate(3)
    assert zlib.decompress(stream, -15) == bytes(3 * MiB)
    with zipfile.ZipFile(io.BytesIO(build_zip([("a.txt", zlib.compress(b"hello", 9)[2:-4], 5,
                                                 zlib.crc32(b"hello"))]))) as zf:
        assert zf.read("a.txt") == b"hello"


@pytest.fixture(scope="module")
def lying_bomb() -> bytes:
    """One member whose header claims 1,000 bytes and which inflates to 1 GiB (about 1 MB compressed)."""
    return build_zip([("word/document.xml", zeros_deflate(1024), 1000, 0)])


def test_member_inflating_past_its_declared_size_is_refused_fast_and_small(lying_bomb):
    assert len(lying_bomb) < 2 * MiB
    tracemalloc.start()
    t0 = time.perf_counter()
    with SafeZip(lying_bomb, label="bomb.zip") as z:
        with pytest.raises(UnsafeArchiveError) as info:
            z.read("word/document.xml")
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    err = info.value
    assert err.reason == "declared size" and err.member == "word/document.xml" and err.file == "bomb.zip"
    assert "1000 bytes its header declares" in str(err)
    assert elapsed < 1.0
    assert peak < 8 * MiB  # the lying archive itself is ~1 MB; nothing near the 1 GiB it expands to
    assert z.produced <= 1000 + 64 * 1024  # stopped within one chunk of the declared size


def test_lying_bomb_refused_before_python_docx_sees_it(tmp_path, lying_bomb):
    path = tmp_path / "plan.docx"
    path.write_bytes(lying_bomb)
    t0 = time.perf_counter()
    with pytest.raises(UnsafeDocumentError) as info:
        rs.read_document(path)
    assert time.perf_counter() - t0 < 1.0
    # a document error for callers that skip unreadable documents, and an archive refusal
    assert isinstance(info.value, DocumentReadError) and isinstance(info.value, UnsafeArchiveError)
    assert info.value.reason == "declared size" and info.value.file == str(path)


def test_lying_bomb_refused_in_a_workbook_and_a_qdpx(tmp_path, lying_bomb):
    xlsx = tmp_path / "survey.xlsx"
    xlsx.write_bytes(lying_bomb)
    with pytest.raises(UnsafeSurveyFileError) as info:
        rs.read_survey(xlsx)
    assert isinstance(info.value, SurveyReadError) and info.value.reason == "declared size"
    qdpx = tmp_path / "p.qdpx"
    qdpx.write_bytes(build_zip([("project.qde", zeros_deflate(1024), 1000, 0)]))
    t0 = time.perf_counter()
    with pytest.raises(UnsafeArchiveError) as info:
        rs.Project.import_qdpx(qdpx, tmp_path / "p.rsqda")
    assert time.perf_counter() - t0 < 1.0
    assert info.value.reason == "declared size" and info.value.member == "project.qde"
    assert not (tmp_path / "p.rsqda").exists()


def test_honest_header_of_a_gigabyte_refused_by_ratio_at_open():
    data = build_zip([("big.txt", zeros_deflate(1024), GiB, 0)])
    with pytest.raises(UnsafeArchiveError) as info:
        SafeZip(data, label="big.zip")
    assert info.value.reason == "compression ratio" and info.value.member == "big.txt"


def test_300_members_of_exactly_one_mib_refused(tmp_path):
    """The 368 KB archive that imported silently as 300 MB."""
    one = zeros_deflate(1)
    crc = zlib.crc32(bytes(MiB))
    data = build_zip([(f"Sources/{i}.txt", one, MiB, crc) for i in range(300)])
    assert len(data) < 400_000
    with pytest.raises(UnsafeArchiveError) as info:
        check_zip(data, label="many.zip")
    assert info.value.reason == "compression ratio"
    path = tmp_path / "many.docx"
    path.write_bytes(data)
    with pytest.raises(UnsafeDocumentError):
        rs.read_document(path)
    qde = b'<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0" name="m"/>'
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    qdpx = tmp_path / "many.qdpx"
    qdpx.write_bytes(build_zip([("project.qde", comp.compress(qde) + comp.flush(), len(qde), zlib.crc32(qde))]
                               + [(f"Sources/{i}.txt", one, MiB, crc) for i in range(300)]))
    with pytest.raises(UnsafeArchiveError) as info:
        rs.Project.import_qdpx(qdpx, tmp_path / "many.rsqda")
    assert info.value.reason == "compression ratio" and not (tmp_path / "many.rsqda").exists()


def test_many_members_just_under_a_mib_refused_as_a_whole():
    """Each member under the per-member ratio floor; together they expand ~1000 times."""
    size = MiB - 1
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = c.compress(bytes(size)) + c.flush()
    data = build_zip([(f"m{i}.txt", one, size, zlib.crc32(bytes(size))) for i in range(300)])
    with pytest.raises(UnsafeArchiveError) as info:
        SafeZip(data, label="many.zip")
    assert info.value.reason == "compression ratio" and "together" in str(info.value)
    # with the whole-archive ratio lifted, the total limit counts what the members declare and produce
    with SafeZip(data, label="many.zip", limits=ArchiveLimits(max_ratio=10_000)) as z:
        z.read("m0.txt")
        z.read("m1.txt")
        assert z.produced == 2 * size
    with pytest.raises(UnsafeArchiveError) as info:
        SafeZip(data, label="many.zip", limits=ArchiveLimits(max_ratio=10_000, max_total_bytes=3 * MiB))
    assert info.value.reason == "size"


def test_total_produced_is_limited_even_when_headers_understate():
    size = MiB - 1
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = c.compress(bytes(size)) + c.flush()
    # every header says 100 bytes: the declared total is tiny; reading is what finds out
    data = build_zip([(f"m{i}.txt", one, 100, 0) for i in range(10)])
    with SafeZip(data, label="x.zip") as z:
        with pytest.raises(UnsafeArchiveError) as info:
            z.read("m0.txt")
    assert info.value.reason == "declared size"


def test_member_limit_and_total_limit_by_bytes_produced():
    text = b"0123456789abcdef" * 4096  # 64 KiB, compresses ~ 200x less than zeros
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = comp.compress(text) + comp.flush()
    data = build_zip([("a.txt", stream, len(text), zlib.crc32(text)), ("b.txt", stream, len(text),
                                                                      zlib.crc32(text))])
    with SafeZip(data, label="t.zip", limits=ArchiveLimits(max_ratio=1e9)) as z:
        assert z.read("a.txt") == text
    with pytest.raises(UnsafeArchiveError) as info:
        SafeZip(data, label="t.zip", limits=ArchiveLimits(max_member_bytes=1000, max_ratio=1e9))
    assert info.value.reason == "member size"


def test_damaged_members_are_read_errors_not_crashes():
    text = b"hello world" * 100
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = comp.compress(text) + comp.flush()
    bad_crc = build_zip([("a.txt", stream, len(text), 12345)])
    with SafeZip(bad_crc, label="c.zip") as z, pytest.raises(ImportFormatError, match="CRC-32"):
        z.read("a.txt")
    truncated = build_zip([("a.txt", stream[:-5], len(text), zlib.crc32(text))])
    with SafeZip(truncated, label="c.zip") as z, pytest.raises(ImportFormatError, match="truncated|damaged"):
        z.read("a.txt")
    short = build_zip([("a.txt", stream, len(text) + 10, zlib.crc32(text))])
    with SafeZip(short, label="c.zip") as z, pytest.raises(ImportFormatError, match="declares 1110 bytes but holds"):
        z.read("a.txt")


def test_ordinary_archives_read_exactly(tmp_path):
    buf = io.BytesIO()
    payload = {"a.txt": b"plain text", "dir/b.xml": b"<x>" + b"y" * 100_000 + b"</x>", "empty.txt": b""}
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in payload.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if name != "a.txt" else zipfile.ZIP_STORED)
    with SafeZip(buf.getvalue(), label="ok.zip") as z:
        for name, data in payload.items():
            assert z.read(name) == data
        z.verify()
    # a real workbook and a real Word file still open
    xlsx = tmp_path / "s.xlsx"
    pd.DataFrame({"id": ["a"], "x": [3]}).to_excel(xlsx, index=False)
    assert rs.read_survey(xlsx)["x"].tolist() == [3]


def test_path_and_duplicate_refusals():
    for name in ("../evil.txt", "/abs.txt", "C:/x.txt", "sub/../../x.txt"):
        with pytest.raises(UnsafeArchiveError) as info:
            SafeZip(build_zip([(name, b"\x03\x00", 0, 0)]), label="p.zip")
        assert info.value.reason == "path"
    with pytest.raises(UnsafeArchiveError) as info:
        SafeZip(build_zip([("a.txt", b"\x03\x00", 0, 0), ("./a.txt", b"\x03\x00", 0, 0)]), label="p.zip")
    assert info.value.reason == "duplicate member"


def test_not_a_zip_is_a_read_error(tmp_path):
    with pytest.raises(ImportFormatError, match="not a readable zip"):
        SafeZip(b"not a zip at all", label="x.zip")
    path = tmp_path / "x.docx"
    path.write_bytes(build_zip([("word/document.xml", b"\xff\xff\xff", 10, 0)]))
    with pytest.raises(DocumentReadError, match="corrupt"):
        rs.read_document(path)


def test_limits_are_documented():
    from recoverystudy._archive import DEFAULT_LIMITS

    assert DEFAULT_LIMITS.max_ratio == 100 and DEFAULT_LIMITS.max_total_bytes == 2 * GiB
    assert DEFAULT_LIMITS.max_member_bytes == GiB and DEFAULT_LIMITS.ratio_min_bytes == MiB
    docs = Path(__file__).resolve().parents[1] / "docs"
    text = "\n".join(p.read_text("utf-8") for p in docs.glob("*.md"))
    assert "zip bomb" in text and "100 times" in text
