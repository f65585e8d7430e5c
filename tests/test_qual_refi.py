"""Tests for REFI-QDA exchange (recoverystudy.qual.refi): .qdpx projects and .qdc codebooks."""

from __future__ import annotations

import hashlib
import io
import time
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

import recoverystudy as rs
from recoverystudy.errors import (
    ExchangeError,
    ExchangeWarning,
    ImportFormatError,
    ProjectStoreError,
    UnsafeArchiveError,
)
from recoverystudy.qual import refi, refi_archive, refi_read, refi_write

DATA = Path(__file__).parent / "data" / "refi"
SCHEMAS = Path(refi_write.__file__).parent / "schemas"
NS = {"q": "urn:QDA-XML:project:1.0"}

SU01 = ("Interviewer: Did you see your care plan?\r\n"
        "SU01: Zoë said it was written about me, not with me \u2013 never had a copy.\r\n"
        "My mum asked for one 😀 and got it.\r\n")
SU02 = "Interviewer: Who came to the review?\nSU02: My sister came. Naïve of me, but I trusted the CPN."
PLAN = "Care plan, SU03.\nGoals: back to work 💼 by summer.\nRisk: low; reviewed monthly."


# -- helpers ----------------------------------------------------------------------------------------------
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def qde_of(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read("project.qde"))


def assert_valid_qdpx(path: Path) -> etree._Element:
    root = qde_of(path)
    xsd = schema("Project.xsd")
    assert xsd.validate(root), xsd.error_log
    return root


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def import_quietly(qdpx: Path, new: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExchangeWarning)
        return rs.Project.import_qdpx(qdpx, new)


def build_project(path: Path) -> rs.Project:
    proj = rs.Project.create(path, user="AB")
    proj.add_code("access", name="Access to care", definition="Getting into services.", colour="#123456")
    proj.add_code("access/waiting", name="Waiting – lists", definition="Queues.\n\nLong ones too.",
                  inclusion="Any wait.", exclusion="Waiting rooms.", example="Six months.",
                  keywords=["waiting list"], lemmas=["wait"], colour="#ABCDEF")
    proj.add_document(SU01, name="SU01", case="SU01", attributes={"language": "en", "pages": 3, "rating": 2.5,
                                                                  "verified": True})
    proj.add_document(SU02, name="SU02 – interview", case="SU02")
    proj.add_document(PLAN, name="SU03 plan", case="SU03", kind="care_plan")
    proj.add_case("SU01", site="Site A", age=34, weight=71.25, consent=True, tiny=1.5e-7)
    proj.add_case("SU02", site="Site B", age=51, weight=80.0, consent=False)
    proj.add_case("SU03", site="Site A")
    proj.add_case("SU04")  # a case without documents or attributes
    proj.add_case("  SU05 (spaces kept)  ")
    proj.add_code("risk/odd_one", name="  Spaced name  ", definition="  leading and trailing  \n")
    s1 = proj.code_quote("SU01", "written about me, not with me", "care_planning_experience/not_involved", coder="AB",
                         memo="Classic 'done to' account.")
    proj.code_quote("SU01", "written about me, not with me", "care_planning_experience/not_involved", coder="CD")
    proj.code_quote("SU01", "never had a copy", "care_plan_document/copy_and_ownership", coder="AB")
    proj.code_quote("SU01", "My mum asked for one 😀 and got it", "carers/carer_involvement", coder="CD")
    proj.code_quote("SU02 – interview", "My sister came", "carers/carer_involvement", coder="AB")
    proj.code_quote("SU02 – interview", "I trusted the CPN", "relationship/trust_and_rapport", coder="CD")
    proj.code_quote("SU03 plan", "back to work 💼", "access/waiting", coder="AB")
    proj.add_memo("Team agreed to double-code all transcripts.", author="AB")
    proj.add_memo("Pasted from Word:\r\n\tline two  ", author="CD")
    proj.add_memo("SU01 is a carer as well as a service user.\nKeep in mind.", on="case", target="SU01", author="CD")
    proj.add_memo("Boundary with trust unclear.", on="code", target="relationship/trust_and_rapport", author="AB")
    proj.add_memo("Check the whole transcript again.", on="document", target="SU02 – interview", author="CD")
    proj.add_memo("Carers central at site A.", on="cell", target=("SU01", "carers"), author="AB")
    proj.chart("SU01", "care_planning_experience/not_involved", "Plan written without SU01.", segments=[s1], author="AB")
    return proj


def segment_tuples(proj) -> list[tuple]:
    return sorted(map(tuple, proj.segments()[["document", "start", "end", "code", "coder", "text"]].values.tolist()))


def memo_tuples(proj) -> list[tuple]:
    frame = proj.memos()
    segs = proj.segments().set_index("segment_id")
    out = []
    for rec in frame.to_dict("records"):
        seg = rec["segment_id"]
        where = None if pd.isna(seg) else tuple(segs.loc[int(seg), ["document", "start", "end", "code", "coder"]])
        out.append((rec["on"], rec["case"], rec["code"], rec["document"], where, rec["text"], rec["author"]))
    return sorted(out, key=repr)


# -- round trip ---------------------------------------------------------------------------------------------
@pytest.fixture
def exported(tmp_path):
    proj = build_project(tmp_path / "study.rsqda")
    out = proj.export_qdpx(tmp_path / "study.qdpx")
    yield proj, out
    proj.close()


def test_export_layout_and_schema(exported):
    proj, out = exported
    root = assert_valid_qdpx(out)
    assert root.tag == "{urn:QDA-XML:project:1.0}Project"
    assert root.get("origin").startswith("recoverystudy")
    names = zipfile.ZipFile(out).namelist()
    docs = proj.documents()
    assert names[0] == "project.qde"
    assert sorted(names[1:]) == sorted(f"Sources/{g}.txt" for g in docs["guid"])
    for src in root.iterfind("q:Sources/q:TextSource", NS):
        assert src.get("plainTextPath") == f"internal://{src.get('guid')}.txt"
        assert src.find("q:PlainTextContent", NS) is None
    # stable GUIDs: the project's own
    assert {c.get("guid") for c in root.iter("{*}Code")} == set(proj.codes()["guid"])
    assert {s.get("guid") for s in root.iter("{*}TextSource")} == set(docs["guid"])
    seg_guids = {r[0] for r in proj._q("SELECT guid FROM segments")}
    assert {s.get("guid") for s in root.iter("{*}PlainTextSelection")} == seg_guids
    # selections carry coder and time; every coding has one CodeRef
    for sel in root.iter("{*}PlainTextSelection"):
        coding = sel.find("q:Coding", NS)
        assert sel.get("creatingUser") and coding.get("creatingUser") == sel.get("creatingUser")
        assert coding.get("creationDateTime") and len(coding.findall("q:CodeRef", NS)) == 1
    users = {u.get("name"): u.get("guid") for u in root.iter("{*}User")}
    assert {"AB", "CD"} <= set(users)
    # hierarchy and colour
    access = root.find(".//q:Code[@name='Access to care']", NS)
    assert access.get("color") == "#123456"
    assert access.find("q:Code", NS).get("name") == "Waiting – lists"
    # exporting twice gives the same identifiers (only modifiedDateTime differs)
    again = proj.export_qdpx(out.with_name("again.qdpx"))
    strip = lambda r: etree.tostring(r).replace(r.get("modifiedDateTime").encode(), b"")  # noqa: E731
    assert strip(qde_of(again)) == strip(root)


def test_round_trip_is_lossless(exported, tmp_path):
    proj, out = exported
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # our own files import without adjustments
        copy = rs.Project.import_qdpx(out, tmp_path / "copy.rsqda")
    with copy:
        # documents: text and hash identical, names, kinds, cases, attributes and GUIDs kept
        cols = ["name", "kind", "case", "sha256", "n_chars", "guid", "created_at", "language", "pages", "rating",
                "verified"]
        pd.testing.assert_frame_equal(copy.documents()[cols], proj.documents()[cols])
        for name in proj.documents()["name"]:
            assert copy.document_text(name) == proj.document_text(name)
            assert hashlib.sha256(copy.document_text(name).encode()).hexdigest() == \
                proj.documents().set_index("name").loc[name, "sha256"]
        assert copy.document_text("SU01").count("\r") == 0
        pd.testing.assert_frame_equal(copy.turns(), proj.turns())
        # cases and typed attributes (text, integer, float, boolean)
        pd.testing.assert_frame_equal(copy.cases(), proj.cases())
        assert copy.cases().set_index("case").loc["SU01", "tiny"] == 1.5e-7
        # codes: tree, names, colours, definitions, inclusion/exclusion/example, rules, GUIDs
        pd.testing.assert_frame_equal(copy.codes().drop(columns="code_id"), proj.codes().drop(columns="code_id"))
        # segments: document, span, code, coder (and so the text)
        assert segment_tuples(copy) == segment_tuples(proj)
        assert set(copy.segments()["coder"]) == {"AB", "CD"}
        # memos on project, case, code, segment, document and cell, with their authors
        assert memo_tuples(copy) == memo_tuples(proj)
        assert sorted(copy.memos()["on"]) == ["case", "cell", "code", "document", "project", "project", "segment"]
        assert "Pasted from Word:\r\n\tline two  " in copy.memos()["text"].tolist()
        # framework chart with its evidence
        a, b = proj.framework_matrix().cells, copy.framework_matrix().cells
        assert a["summary"].fillna("").tolist() == b["summary"].fillna("").tolist()
        assert copy.framework_matrix().evidence("SU01", "care_planning_experience/not_involved")["linked"].sum() == 1
        # GUIDs of everything the project owns
        for table in ("documents", "codes", "cases", "attributes", "segments", "memos", "charts"):
            assert copy._q(f"SELECT guid FROM {table} ORDER BY guid") == proj._q(f"SELECT guid FROM {table} ORDER BY guid")
        # the import is logged like any coding
        assert (copy.coding_log()["action"] == "code").sum() == len(proj.segments())
        # and exporting the copy gives the same project.qde apart from dates and the 'imported' user
        again = copy.export_qdpx(tmp_path / "again.qdpx")
        assert_valid_qdpx(again)
        for tag in ("Code", "TextSource", "PlainTextSelection", "Coding", "Note", "Case", "Variable", "Link"):
            assert sorted(e.get("guid") for e in qde_of(again).iter(f"{{*}}{tag}")) == \
                sorted(e.get("guid") for e in qde_of(out).iter(f"{{*}}{tag}")), tag


def test_provenance_is_recorded(exported, tmp_path):
    _proj, out = exported
    with import_quietly(out, tmp_path / "copy.rsqda") as copy:
        (record,) = refi.import_history(copy)
    assert record["file"] == "study.qdpx"
    assert record["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record["imported_at"].endswith("Z") and record["origin"].startswith("recoverystudy")
    assert record["segments"] == 7 and record["documents"] == 3 and record["adjustments"] == []


def test_positions_are_code_points(tmp_path):
    text = "SU01: 😀😀 emoji first, then the quote."
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        proj.add_code("mood")
        proj.add_document(text, name="d")
        seg = proj.code_quote("d", "the quote", "mood", coder="AB")
        start, end = proj._q("SELECT start, end FROM segments WHERE segment_id = ?", (seg,))[0]
        out = proj.export_qdpx(tmp_path / "p.qdpx")
    sel = qde_of(out).find(".//q:PlainTextSelection", NS)
    assert (int(sel.get("startPosition")), int(sel.get("endPosition"))) == (start, end) == (27, 36)
    source = zipfile.ZipFile(out).read(next(n for n in zipfile.ZipFile(out).namelist() if n.startswith("Sources/")))
    assert source.decode("utf-8")[start:end] == "the quote"
    assert len(text[:start].encode("utf-16-le")) // 2 == start + 2  # UTF-16 units would be off by two
    with import_quietly(out, tmp_path / "copy.rsqda") as copy:
        assert copy.segments()[["start", "end", "text"]].values.tolist() == [[27, 36, "the quote"]]


def test_project_methods_delegate(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda") as proj:
        assert proj.export_qdpx(tmp_path / "p.qdpx") == tmp_path / "p.qdpx"
        assert proj.export_qdc(tmp_path / "p.qdc") == tmp_path / "p.qdc"
    with import_quietly(tmp_path / "p.qdpx", tmp_path / "q.rsqda") as copy:
        assert isinstance(copy, rs.Project) and copy.path == tmp_path / "q.rsqda"
        assert len(copy.codes()) == 43


def test_empty_project_round_trip(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        out = proj.export_qdpx(tmp_path / "p.qdpx")
    assert len(assert_valid_qdpx(out)) == 0
    with rs.Project.import_qdpx(out, tmp_path / "q.rsqda") as copy:
        assert len(copy.documents()) == len(copy.codes()) == len(copy.segments()) == 0


# -- codebook -----------------------------------------------------------------------------------------------
def test_qdc_round_trip_into_empty_codebook(exported, tmp_path):
    proj, _ = exported
    out = proj.export_qdc(tmp_path / "framework.qdc")
    root = etree.parse(str(out)).getroot()
    xsd = schema("Codebook.xsd")
    assert xsd.validate(root), xsd.error_log
    assert root.tag == "{urn:QDA-XML:codebook:1.0}CodeBook" and root.get("origin").startswith("recoverystudy")
    with rs.Project.create(tmp_path / "empty.rsqda", codebook=None) as empty:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            added = empty.import_qdc(out)
        assert len(added) == len(proj.codes())
        pd.testing.assert_frame_equal(empty.codes().drop(columns="code_id"), proj.codes().drop(columns="code_id"))
        (record,) = refi.import_history(empty)
        assert record["file"] == "framework.qdc" and record["codes_added"] == len(added)
        assert record["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
        # importing the same codebook again changes nothing and says so
        with pytest.warns(ExchangeWarning, match="already in the project"):
            assert empty.import_qdc(out) == []
        assert len(empty.codes()) == len(proj.codes())


def test_qdc_merges_by_path_into_existing_codebook(tmp_path):
    with rs.Project.create(tmp_path / "a.rsqda") as a:
        a.add_code("access", name="Access")
        a.add_code("risk/new_code", name="A new risk code")
        out = a.export_qdc(tmp_path / "a.qdc")
    with rs.Project.create(tmp_path / "b.rsqda") as b:  # same YAML codebook, different GUIDs
        before = b.codes()
        with pytest.warns(ExchangeWarning, match="43x"):
            added = b.import_qdc(out)
        after = b.codes()
        assert sorted(after.loc[after["code_id"].isin(added), "path"]) == ["access", "risk/new_code"]
        pd.testing.assert_frame_equal(after[after["code_id"].isin(before["code_id"])].reset_index(drop=True),
                                      before.reset_index(drop=True))


def test_foreign_codebook(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        added = proj.import_qdc(DATA / "nvivo.qdc")
        codes = proj.codes().set_index("path")
    assert len(added) == 5
    assert list(codes.index) == ["recovery", "recovery/hope", "recovery/identity", "recovery/identity/work_identity",
                                 "risk"]
    assert codes.loc["recovery", "colour"] == "#aabbcc"  # 3-digit colour expanded
    assert codes.loc["recovery", "definition"] == "Personal recovery."
    assert codes.loc["recovery/identity/work_identity", "name"] == "Work & identity"
    assert codes.loc["recovery/identity/work_identity", "parent"] == "recovery/identity"


def test_qdc_from_a_qdpx(exported, tmp_path):
    _proj, out = exported
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        assert len(proj.import_qdc(out)) == 46


def test_qdc_of_empty_codebook_refused(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        with pytest.raises(ExchangeError, match="no codes"):
            proj.export_qdc(tmp_path / "p.qdc")
    assert not (tmp_path / "p.qdc").exists()


# -- other tools' files ---------------------------------------------------------------------------------------
def test_nvivo_like(tmp_path):
    with pytest.warns(ExchangeWarning) as record:
        proj = rs.Project.import_qdpx(DATA / "nvivo.qdpx", tmp_path / "n.rsqda")
    message = str(record[0].message)
    assert "Date" in message or "date" in message
    with proj:
        assert proj.groups()[["group", "kind", "member"]].values.tolist() == [
            ["Site A interviews", "document", "SU01 interview"]]
        segs = proj.segments()
        assert segs[["document", "code", "coder", "text"]].values.tolist() == [
            ["SU01 interview", "reviews/rushed_reviews", "Alice Brown", "the review was rushed"],
            ["SU01 interview", "reviews/voice/feeling_unheard", "Chris Dee", "I felt unheard"],
            ["SU02 interview", "relationship_trust", "Chris Dee", "listened to me"],  # after an emoji and CRLF
        ]
        assert "\r" not in proj.document_text("SU01 interview")
        assert not proj.document_text("SU01 interview").startswith("\ufeff")
        codes = proj.codes().set_index("path")
        assert codes.loc["reviews/voice/feeling_unheard", "parent"] == "reviews/voice"
        assert codes.loc["reviews", "colour"] == "#1B9E77" and pd.isna(codes.loc["reviews/voice", "colour"])
        assert codes.loc["reviews", "guid"] == "CCCCCCCC-0000-0000-0000-000000000001"
        cases = proj.cases().set_index("case")
        assert cases.loc["SU01", "Site"] == "Site A" and cases.loc["SU01", "Age"] == 34
        assert cases.loc["SU01", "Interview date"] == "2023-05-01"
        assert proj.documents().set_index("name").loc["SU02 interview", "case"] == "SU02"
        memos = proj.memos()
        assert memos[["on", "author"]].values.tolist() == [["segment", "Alice Brown"], ["project", "Alice Brown"]]
        assert memos[["title", "text"]].iloc[0].tolist() == ["Rushed", "Twenty minutes for a review is typical here."]
        assert proj._q("SELECT created_at FROM segments ORDER BY segment_id")[0][0] == "2024-01-03T10:00:00.000000Z"
        assert_valid_qdpx(proj.export_qdpx(tmp_path / "again.qdpx"))


def test_maxqda_like_bare_qde(tmp_path):
    with pytest.warns(ExchangeWarning, match="attributed to user 'imported'") as record:
        proj = rs.Project.import_qdpx(DATA / "maxqda.qde", tmp_path / "m.rsqda")
    assert ("source 'Care plan scan' was not imported: it is a picture source with no plain-text representation"
            in str(record[0].message))
    with proj:
        assert proj.segments()[["code", "coder", "text"]].values.tolist() == [
            ["involvement/not_asked", "imported", "never asked what I wanted"],
            ["involvement/done_to_not_with", "imported", "written for me, not with me"]]
        assert proj.codes()["colour"].isna().all()
        assert proj.codes()["guid"].iloc[0] == "0A000000-0000-0000-0000-000000000001"  # braces removed
        assert len(proj.cases()) == 0
        assert_valid_qdpx(proj.export_qdpx(tmp_path / "again.qdpx"))


def test_atlasti_like(tmp_path):
    with pytest.warns(ExchangeWarning, match="1 link was not kept .*'is part of'"):
        proj = rs.Project.import_qdpx(DATA / "atlasti.qdpx", tmp_path / "a.rsqda")
    with proj:
        segs = proj.segments()
        whole = segs[segs["code"] == "care_plan_document"]
        assert whole[["start", "end"]].values.tolist() == [[0, len(proj.document_text("SU03 care plan"))]]
        assert segs.loc[segs["code"] == "goals/work_goal", "text"].tolist() == ["get back to work"]
        codes = proj.codes().set_index("path")
        assert codes.loc["goals", "colour"] == "#FF0000" and codes.loc["goals/work_goal", "colour"] == "#00aa00"
        assert proj.memos()[["on", "title", "text"]].values.tolist() == [
            ["project", "Memo: goals", "Goals are vocational in most plans."]]
        assert_valid_qdpx(proj.export_qdpx(tmp_path / "again.qdpx"))


def test_qualcoder_like(tmp_path):
    with pytest.warns(ExchangeWarning):
        proj = rs.Project.import_qdpx(DATA / "qualcoder.qdpx", tmp_path / "q.rsqda")
    with proj:
        assert proj.cases().to_dict("records") == [{"case": "SU04", "Has carer": True, "Score": 3.25}]
        assert set(proj.segments()["coder"]) == {"coder1"}
        memos = proj.memos().set_index("on")
        assert memos.loc["case", "text"] == "Recruited at site C."
        assert memos.loc["segment", ["title", "text"]].tolist() == ["copy memo", "Got it after asking twice."]
        seg = proj.segments().set_index("segment_id").loc[int(memos.loc["segment", "segment_id"])]
        assert seg["text"] == "my own copy"
        assert_valid_qdpx(proj.export_qdpx(tmp_path / "again.qdpx"))


def make_qdpx(path: Path, qde: str | bytes, members: dict[str, bytes] | None = None) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("project.qde", qde if isinstance(qde, bytes) else qde.encode("utf-8"))
            for name, data in (members or {}).items():
                zf.writestr(name, data)
    return path


MINIMAL = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="m">
  <CodeBook><Codes><Code guid="00000000-0000-0000-0000-0000000000C1" name="Code" isCodable="true"/></Codes></CodeBook>
  <Sources>
    <TextSource guid="00000000-0000-0000-0000-0000000000D1" name="doc" plainTextPath="{path}">
      <PlainTextSelection guid="00000000-0000-0000-0000-0000000000E1" startPosition="{start}" endPosition="{end}">
        <Coding guid="00000000-0000-0000-0000-0000000000F1"><CodeRef targetGUID="00000000-0000-0000-0000-0000000000C1"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>"""


def test_crlf_sources_keep_positions(tmp_path):
    raw = "Line one\r\nLine two\r\nthe quote here\r\n"
    start = raw.index("the quote")
    src = make_qdpx(tmp_path / "c.qdpx", MINIMAL.format(path="internal://doc.txt", start=start, end=start + 9),
                    {"Sources/doc.txt": raw.encode("utf-8")})
    with import_quietly(src, tmp_path / "c.rsqda") as proj:
        assert proj.segments()[["start", "end", "text"]].values.tolist() == [[start - 2, start + 7, "the quote"]]


def test_project_in_a_folder_and_utf16_source(tmp_path):
    src = tmp_path / "f.qdpx"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("My project/project.qde", MINIMAL.format(path="internal://doc.txt", start=5, end=10))
        zf.writestr("My project/Sources/doc.txt", "Tëst quote".encode("utf-16"))
    with import_quietly(src, tmp_path / "f.rsqda") as proj:
        assert proj.segments()["text"].tolist() == ["quote"]
        assert proj.documents()["source_path"].tolist() == ["f.qdpx:My project/Sources/doc.txt"]


def test_duplicate_names_are_renamed(tmp_path):
    doc = ('<TextSource guid="00000000-0000-0000-0000-0000000000D{i}" name="same"><PlainTextContent>text {i}'
           '</PlainTextContent></TextSource>')
    qde = ('<Project xmlns="urn:QDA-XML:project:1.0" name="d"><CodeBook><Codes>'
           '<Code guid="00000000-0000-0000-0000-0000000000C1" name="Same name" isCodable="true"/>'
           '<Code guid="00000000-0000-0000-0000-0000000000C2" name="Same name" isCodable="true"/>'
           '<Code guid="00000000-0000-0000-0000-0000000000C2" name="Same GUID" isCodable="true"/>'
           '</Codes></CodeBook><Sources>' + "".join(doc.format(i=i) for i in range(3)) + '</Sources></Project>')
    with pytest.warns(ExchangeWarning, match="documents with the same name were renamed") as record:
        proj = rs.Project.import_qdpx(make_qdpx(tmp_path / "d.qdpx", qde), tmp_path / "d.rsqda")
    assert "codes whose GUID occurs twice were imported once" in str(record[0].message)
    with proj:
        assert proj.documents()["name"].tolist() == ["same", "same (2)", "same (3)"]
        assert proj.codes()["path"].tolist() == ["same_name", "same_name_2"]


def test_broken_references_are_skipped_with_a_warning(tmp_path):
    src = make_qdpx(tmp_path / "b.qdpx", MINIMAL.format(path="internal://doc.txt", start=5, end=500),
                    {"Sources/doc.txt": b"short text"})
    with pytest.warns(ExchangeWarning, match="outside their text"):
        with rs.Project.import_qdpx(src, tmp_path / "b.rsqda") as proj:
            assert len(proj.segments()) == 0 and len(proj.documents()) == 1


# -- refusals -------------------------------------------------------------------------------------------------
def assert_refused(tmp_path: Path, src: Path, error=UnsafeArchiveError, reason: str | None = None):
    before = listing(tmp_path)
    new = tmp_path / "new.rsqda"
    with pytest.raises(error) as info:
        rs.Project.import_qdpx(src, new)
    assert not new.exists()
    assert listing(tmp_path) == before  # no temporary project left behind
    assert str(src) in str(info.value)
    if reason is not None:
        assert info.value.reason == reason
    return info.value


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&c;"/>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&x;"/>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, XXE, '<?xml version="1.0"?><!DOCTYPE Project><Project name="x"/>'])
def test_refuses_dtd_and_entities(tmp_path, xml):
    err = assert_refused(tmp_path, make_qdpx(tmp_path / "x.qdpx", xml), reason="dtd")
    assert "project.qde" in str(err)
    bare = tmp_path / "x.qde"
    bare.write_text(xml, encoding="utf-8")
    assert_refused(tmp_path, bare, reason="dtd")


def test_qdc_with_entities_refused_and_nothing_added(tmp_path):
    bad = tmp_path / "bad.qdc"
    bad.write_text(BILLION_LAUGHS.replace("Project", "CodeBook"), encoding="utf-8")
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        with pytest.raises(UnsafeArchiveError, match="DTD"):
            proj.import_qdc(bad)
        assert len(proj.codes()) == 0 and refi.import_history(proj) == []


@pytest.mark.parametrize("member", ["../evil.txt", "/etc/evil.txt", "Sources/../../evil.txt", "C:/evil.txt",
                                    "..\\evil.txt", "c:\\windows\\evil.txt"])
def test_refuses_member_paths_escaping_the_archive(tmp_path, member):
    src = make_qdpx(tmp_path / "x.qdpx", MINIMAL.format(path="internal://doc.txt", start=0, end=4),
                    {"Sources/doc.txt": b"some text", member: b"x"})
    err = assert_refused(tmp_path, src, reason="path")
    assert err.member == member and repr(member) in str(err)


@pytest.mark.parametrize("ref", ["internal://../project.qde", "internal://../../etc/passwd", "internal:///etc/passwd",
                                 "internal://C:/Windows/win.ini", "internal://sub/../../x.txt",
                                 "internal://file:///etc/passwd"])
def test_refuses_internal_paths_escaping_sources(tmp_path, ref):
    src = make_qdpx(tmp_path / "x.qdpx", MINIMAL.format(path=ref, start=0, end=4), {"Sources/doc.txt": b"some text"})
    err = assert_refused(tmp_path, src, reason="path")
    assert "TextSource 'doc'" in str(err) and "Sources/" in str(err)


def test_refuses_too_many_members(tmp_path, monkeypatch):
    monkeypatch.setattr(refi_archive, "MAX_MEMBERS", 5)
    src = make_qdpx(tmp_path / "x.qdpx", MINIMAL.format(path="internal://doc.txt", start=0, end=4),
                    {f"Sources/{i}.txt": b"x" for i in range(5)})
    assert_refused(tmp_path, src, reason="member count")


def test_refuses_archives_too_large(tmp_path, monkeypatch):
    monkeypatch.setattr(refi_archive, "MAX_TOTAL_BYTES", 10_000)
    src = make_qdpx(tmp_path / "x.qdpx", MINIMAL.format(path="internal://doc.txt", start=0, end=4),
                    {"Sources/doc.txt": bytes(range(256)) * 50})
    err = assert_refused(tmp_path, src, reason="size")
    assert "10000" in str(err)


def test_refuses_compression_bombs(tmp_path):
    src = make_qdpx(tmp_path / "x.qdpx", MINIMAL.format(path="internal://doc.txt", start=0, end=4),
                    {"Sources/doc.txt": b"0" * (3 * 1024 ** 2)})
    err = assert_refused(tmp_path, src, reason="compression ratio")
    assert err.member == "Sources/doc.txt" and "zip bomb" in str(err)


def test_refuses_duplicate_members(tmp_path):
    src = make_qdpx(tmp_path / "x.qdpx", MINIMAL.format(path="internal://doc.txt", start=0, end=4),
                    {"Sources/doc.txt": b"some text", "project.qde": b"<Project name='other'/>"})
    assert_refused(tmp_path, src, reason="duplicate member")


def test_malformed_files(tmp_path):
    junk = tmp_path / "junk.qdpx"
    junk.write_bytes(b"\x00\x01 not a zip and not XML")
    assert_refused(tmp_path, junk, ImportFormatError)
    nozip = tmp_path / "noqde.qdpx"
    with zipfile.ZipFile(nozip, "w") as zf:
        zf.writestr("Sources/a.txt", "x")
    err = assert_refused(tmp_path, nozip, ImportFormatError)
    assert "project.qde" in str(err)
    broken = make_qdpx(tmp_path / "broken.qdpx", "<Project name='x'><Sources></Project>")
    err = assert_refused(tmp_path, broken, ImportFormatError)
    assert "line 1" in str(err) and err.member == "project.qde"
    codebook = make_qdpx(tmp_path / "cb.qdpx", "<CodeBook xmlns='urn:QDA-XML:codebook:1.0'/>")
    assert "use import_qdc" in str(assert_refused(tmp_path, codebook, ImportFormatError))
    assert_refused(tmp_path, tmp_path / "missing.qdpx", ImportFormatError)


def test_import_never_overwrites(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        out = proj.export_qdpx(tmp_path / "p.qdpx")
    existing = tmp_path / "mine.rsqda"
    existing.write_bytes(b"precious")
    with pytest.raises(ProjectStoreError, match="never overwrites"):
        rs.Project.import_qdpx(out, existing)
    assert existing.read_bytes() == b"precious"
    with pytest.raises(ProjectStoreError, match="does not exist"):
        rs.Project.import_qdpx(out, tmp_path / "no" / "such.rsqda")


def test_export_refuses_invalid_content_and_writes_nothing(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        proj.add_code("access")
        target = tmp_path / "p.qdpx"
        target.write_bytes(b"an older export")
        with proj._tx() as conn:  # bypass add_code's check: a colour the schema rejects
            conn.execute("UPDATE codes SET colour = 'red'")
        with pytest.raises(ExchangeError, match="does not validate against the REFI-QDA 1.0 schema") as info:
            proj.export_qdpx(target)
        assert "color" in str(info.value) and str(target) in str(info.value)
        assert target.read_bytes() == b"an older export"
        with pytest.raises(ExchangeError, match="does not validate"):
            proj.export_qdc(tmp_path / "p.qdc")
        assert not (tmp_path / "p.qdc").exists()
        with proj._tx() as conn:
            conn.execute("UPDATE codes SET colour = NULL")
        proj.add_memo("bell \x07 in memo", author="AB")
        with pytest.raises(ExchangeError, match="memo 'Project memo' contains characters that XML cannot hold"):
            proj.export_qdpx(target)
        with pytest.raises(ExchangeError, match="over the project file"):
            proj.export_qdpx(proj.path)
        with pytest.raises(ExchangeError, match="does not exist"):
            proj.export_qdpx(tmp_path / "nope" / "p.qdpx")
    assert sorted(listing(tmp_path)) == ["p.qdpx", "p.rsqda"]


def test_export_refuses_infinite_float(tmp_path):
    with rs.Project.create(tmp_path / "p.rsqda", codebook=None) as proj:
        proj.add_case("SU01", score=float("inf"))
        with pytest.raises(ExchangeError, match="case 'SU01', attribute 'score'"):
            proj.export_qdpx(tmp_path / "p.qdpx")
    assert not (tmp_path / "p.qdpx").exists()


# -- scale ----------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_export_and_import_50000_segments(tmp_path):
    words = "I never had a copy of my care plan and nobody asked me what I wanted from it. "
    text = "SU01: " + words * 130
    with rs.Project.create(tmp_path / "big.rsqda", user="AB") as proj:
        frame = pd.DataFrame({"name": [f"doc{i:03d}" for i in range(50)],
                              "text": [f"{i}: {text}" for i in range(50)]})
        proj.add_documents(frame)
        codes = proj.codes()["path"].tolist()[1:]
        rows = pd.DataFrame({"document": [f"doc{i % 50:03d}" for i in range(50_000)],
                             "start": [(i // 50) * 10 for i in range(50_000)],
                             "code": [codes[i % len(codes)] for i in range(50_000)],
                             "coder": ["AB" if i % 2 else "CD" for i in range(50_000)]})
        rows["end"] = rows["start"] + 25
        assert len(set(proj.code_many(rows))) == 50_000
        began = time.perf_counter()
        out = proj.export_qdpx(tmp_path / "big.qdpx")
        elapsed = time.perf_counter() - began
    assert elapsed < 30, f"export of 50 000 segments took {elapsed:.1f} s"
    began = time.perf_counter()
    with rs.Project.import_qdpx(out, tmp_path / "copy.rsqda") as copy:
        assert len(copy.segments(context=0)) == 50_000
    assert time.perf_counter() - began < 60
