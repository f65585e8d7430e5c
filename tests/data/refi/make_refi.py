"""Generate the small REFI-QDA files used by tests/test_qual_refi.py.

Run from anywhere: ``python tests/data/refi/make_refi.py``.  Each ``project.qde`` below is written by hand
to imitate what one client writes (quirks noted per file); positions are computed from the quotes on the
raw text the client would have stored (CRLF counted as two characters, an emoji as one code point), so the
tests can check that the imported segment text is the quote.  Output is deterministic.

* ``nvivo.qdpx``     - UTF-8 BOM on project.qde, lower-case GUIDs, Sources/<guid>.txt with BOM and CRLF,
  three-level code hierarchy, a Date variable, a <Set>, notes on a selection and on the project.
* ``maxqda.qde``     - a bare project.qde (no archive): no Users, Cases or Variables, codes without colour
  or isCodable, GUIDs in braces, inline PlainTextContent, selections and codings without creatingUser,
  a PictureSource.
* ``atlasti.qdpx``   - TextSource with only a richTextPath (the plain text is Sources/<guid>.txt), a coding of a
  whole source, a non-codable code folder, an unattached note, a code-to-code link, 3-digit colours.
* ``qualcoder.qdpx`` - Users with id, Boolean/Float variables, extra attributes, a note on a coding, a case
  memo given as the case's Description, a selection with name.
* ``nvivo.qdc``      - a foreign codebook: nested codes, 3-digit colours, no isCodable, no origin.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAMP = (2024, 1, 2, 3, 4, 6)


def span(raw: str, quote: str) -> tuple[int, int]:
    start = raw.index(quote)
    return start, start + len(quote)


def write_zip(name: str, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(HERE / name, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(zipfile.ZipInfo(member, date_time=STAMP), data, compress_type=zipfile.ZIP_DEFLATED)


# --- NVivo-like -------------------------------------------------------------------------------------------
NV_SRC1 = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
NV_SRC2 = "3f2504e0-4f89-11d3-9a0c-0305e82c3302"
NV_RAW1 = ("Interviewer: How was your care plan review?\r\nSU01: Zoë said the review was rushed \u2013 20 minutes."
           "\r\nI felt unheard.\r\n")
NV_RAW2 = "SU02: My CPN \U0001F600 listened to me.\r\nIt helped."


def nvivo() -> None:
    r1, r2, r3 = span(NV_RAW1, "the review was rushed"), span(NV_RAW1, "I felt unheard"), span(NV_RAW2, "listened to me")
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project name="Care planning (NVivo)" origin="NVivo 14" creatingUserGUID="aaaaaaaa-0000-0000-0000-000000000001"
         creationDateTime="2024-01-02T03:04:05.1234567Z" xmlns="urn:QDA-XML:project:1.0">
  <Users>
    <User guid="aaaaaaaa-0000-0000-0000-000000000001" name="Alice Brown" id="AB"/>
    <User guid="aaaaaaaa-0000-0000-0000-000000000002" name="Chris Dee" id="CD"/>
  </Users>
  <CodeBook>
    <Codes>
      <Code guid="cccccccc-0000-0000-0000-000000000001" name="Reviews" isCodable="true" color="#1B9E77">
        <Description>How reviews happen.</Description>
        <Code guid="cccccccc-0000-0000-0000-000000000002" name="Rushed reviews" isCodable="true" color="#D95F02"/>
        <Code guid="cccccccc-0000-0000-0000-000000000003" name="Voice" isCodable="true">
          <Code guid="cccccccc-0000-0000-0000-000000000004" name="Feeling unheard" isCodable="true" color="#7570B3">
            <Description>Service user says they were not listened to.</Description>
          </Code>
        </Code>
      </Code>
      <Code guid="cccccccc-0000-0000-0000-000000000005" name="Relationship &amp; trust" isCodable="true"/>
    </Codes>
  </CodeBook>
  <Variables>
    <Variable guid="dddddddd-0000-0000-0000-000000000001" name="Site" typeOfVariable="Text"/>
    <Variable guid="dddddddd-0000-0000-0000-000000000002" name="Age" typeOfVariable="Integer"/>
    <Variable guid="dddddddd-0000-0000-0000-000000000003" name="Interview date" typeOfVariable="Date"/>
  </Variables>
  <Cases>
    <Case guid="eeeeeeee-0000-0000-0000-000000000001" name="SU01">
      <VariableValue><VariableRef targetGUID="dddddddd-0000-0000-0000-000000000001"/><TextValue>Site A</TextValue></VariableValue>
      <VariableValue><VariableRef targetGUID="dddddddd-0000-0000-0000-000000000002"/><IntegerValue>34</IntegerValue></VariableValue>
      <VariableValue><VariableRef targetGUID="dddddddd-0000-0000-0000-000000000003"/><DateValue>2023-05-01</DateValue></VariableValue>
      <SourceRef targetGUID="{NV_SRC1}"/>
    </Case>
    <Case guid="eeeeeeee-0000-0000-0000-000000000002" name="SU02">
      <VariableValue><VariableRef targetGUID="dddddddd-0000-0000-0000-000000000001"/><TextValue>Site B</TextValue></VariableValue>
      <SourceRef targetGUID="{NV_SRC2}"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource guid="{NV_SRC1}" name="SU01 interview" plainTextPath="internal://{NV_SRC1}.txt"
                creatingUser="aaaaaaaa-0000-0000-0000-000000000001" creationDateTime="2024-01-02T03:04:05Z">
      <PlainTextSelection guid="ffffffff-0000-0000-0000-000000000001" name="the review was rushed"
                          startPosition="{r1[0]}" endPosition="{r1[1]}"
                          creatingUser="aaaaaaaa-0000-0000-0000-000000000001" creationDateTime="2024-01-03T10:00:00Z">
        <Coding guid="99999999-0000-0000-0000-000000000001" creatingUser="aaaaaaaa-0000-0000-0000-000000000001">
          <CodeRef targetGUID="cccccccc-0000-0000-0000-000000000002"/>
        </Coding>
        <NoteRef targetGUID="bbbbbbbb-0000-0000-0000-000000000001"/>
      </PlainTextSelection>
      <PlainTextSelection guid="ffffffff-0000-0000-0000-000000000002" startPosition="{r2[0]}" endPosition="{r2[1]}"
                          creatingUser="aaaaaaaa-0000-0000-0000-000000000002">
        <Coding guid="99999999-0000-0000-0000-000000000002" creatingUser="aaaaaaaa-0000-0000-0000-000000000002">
          <CodeRef targetGUID="cccccccc-0000-0000-0000-000000000004"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
    <TextSource guid="{NV_SRC2}" name="SU02 interview" plainTextPath="internal://{NV_SRC2}.txt">
      <PlainTextSelection guid="ffffffff-0000-0000-0000-000000000003" startPosition="{r3[0]}" endPosition="{r3[1]}"
                          creatingUser="aaaaaaaa-0000-0000-0000-000000000002">
        <Coding guid="99999999-0000-0000-0000-000000000003" creatingUser="aaaaaaaa-0000-0000-0000-000000000002">
          <CodeRef targetGUID="cccccccc-0000-0000-0000-000000000005"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
  <Notes>
    <Note guid="bbbbbbbb-0000-0000-0000-000000000001" name="Rushed" creatingUser="aaaaaaaa-0000-0000-0000-000000000001">
      <PlainTextContent>Twenty minutes for a review is typical here.</PlainTextContent>
    </Note>
    <Note guid="bbbbbbbb-0000-0000-0000-000000000002" name="Project journal" creatingUser="aaaaaaaa-0000-0000-0000-000000000001">
      <PlainTextContent>Started coding.</PlainTextContent>
    </Note>
  </Notes>
  <Sets>
    <Set guid="abababab-0000-0000-0000-000000000001" name="Site A interviews">
      <MemberSource targetGUID="{NV_SRC1}"/>
    </Set>
  </Sets>
  <NoteRef targetGUID="bbbbbbbb-0000-0000-0000-000000000002"/>
</Project>
"""
    write_zip("nvivo.qdpx", {
        "project.qde": b"\xef\xbb\xbf" + qde.encode("utf-8"),
        f"Sources/{NV_SRC1}.txt": b"\xef\xbb\xbf" + NV_RAW1.encode("utf-8"),
        f"Sources/{NV_SRC2}.txt": NV_RAW2.encode("utf-8"),
    })


# --- MAXQDA-like (bare .qde) ----------------------------------------------------------------------------
MX_TEXT = "CC01: I was never asked what I wanted.\nCC01: The plan was written for me, not with me."


def maxqda() -> None:
    a, b = span(MX_TEXT, "never asked what I wanted"), span(MX_TEXT, "written for me, not with me")
    qde = f"""<?xml version="1.0" encoding="UTF-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Carers" origin="MAXQDA 2022">
  <CodeBook>
    <Codes>
      <Code guid="{{0A000000-0000-0000-0000-000000000001}}" name="Involvement">
        <Code guid="{{0A000000-0000-0000-0000-000000000002}}" name="Not asked"/>
        <Code guid="{{0A000000-0000-0000-0000-000000000003}}" name="Done to, not with"/>
      </Code>
    </Codes>
  </CodeBook>
  <Sources>
    <TextSource guid="{{0B000000-0000-0000-0000-000000000001}}" name="CC01">
      <PlainTextContent>{MX_TEXT}</PlainTextContent>
      <PlainTextSelection guid="{{0C000000-0000-0000-0000-000000000001}}" startPosition="{a[0]}" endPosition="{a[1]}">
        <Coding guid="{{0D000000-0000-0000-0000-000000000001}}">
          <CodeRef targetGUID="{{0A000000-0000-0000-0000-000000000002}}"/>
        </Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="{{0C000000-0000-0000-0000-000000000002}}" startPosition="{b[0]}" endPosition="{b[1]}">
        <Coding guid="{{0D000000-0000-0000-0000-000000000002}}">
          <CodeRef targetGUID="{{0A000000-0000-0000-0000-000000000003}}"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
    <PictureSource guid="{{0B000000-0000-0000-0000-000000000002}}" name="Care plan scan" path="internal://scan.png"/>
  </Sources>
</Project>
"""
    (HERE / "maxqda.qde").write_bytes(qde.encode("utf-8"))


# --- ATLAS.ti-like -------------------------------------------------------------------------------------
AT_SRC = "1E000000-0000-0000-0000-000000000001"
AT_TEXT = "Care plan for SU03.\nGoals: get back to work.\nRisk: low."


def atlasti() -> None:
    a = span(AT_TEXT, "get back to work")
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Plans" origin="ATLAS.ti 23">
  <Users><User guid="1A000000-0000-0000-0000-000000000001" name="Rater"/></Users>
  <CodeBook>
    <Codes>
      <Code guid="1C000000-0000-0000-0000-000000000001" name="Goals" isCodable="false" color="#F00">
        <Code guid="1C000000-0000-0000-0000-000000000002" name="Work goal" isCodable="true" color="#0a0"/>
      </Code>
      <Code guid="1C000000-0000-0000-0000-000000000003" name="Care plan document" isCodable="true"/>
    </Codes>
  </CodeBook>
  <Sources>
    <TextSource guid="{AT_SRC}" name="SU03 care plan" richTextPath="internal://{AT_SRC}.docx"
                creatingUser="1A000000-0000-0000-0000-000000000001">
      <PlainTextSelection guid="1F000000-0000-0000-0000-000000000001" startPosition="{a[0]}" endPosition="{a[1]}"
                          creatingUser="1A000000-0000-0000-0000-000000000001">
        <Coding guid="19000000-0000-0000-0000-000000000001" creatingUser="1A000000-0000-0000-0000-000000000001">
          <CodeRef targetGUID="1C000000-0000-0000-0000-000000000002"/>
        </Coding>
      </PlainTextSelection>
      <Coding guid="19000000-0000-0000-0000-000000000002" creatingUser="1A000000-0000-0000-0000-000000000001">
        <CodeRef targetGUID="1C000000-0000-0000-0000-000000000003"/>
      </Coding>
    </TextSource>
  </Sources>
  <Notes>
    <Note guid="1B000000-0000-0000-0000-000000000001" name="Memo: goals" creatingUser="1A000000-0000-0000-0000-000000000001">
      <PlainTextContent>Goals are vocational in most plans.</PlainTextContent>
    </Note>
  </Notes>
  <Links>
    <Link guid="1D000000-0000-0000-0000-000000000001" name="is part of" direction="OneWay"
          originGUID="1C000000-0000-0000-0000-000000000002" targetGUID="1C000000-0000-0000-0000-000000000003"/>
  </Links>
</Project>
"""
    write_zip("atlasti.qdpx", {"project.qde": qde.encode("utf-8"), f"Sources/{AT_SRC}.txt": AT_TEXT.encode("utf-8"),
                               f"Sources/{AT_SRC}.docx": b"PK-not-really-a-docx"})


# --- QualCoder-like ------------------------------------------------------------------------------------
QC_SRC = "2E000000-0000-0000-0000-000000000001"
QC_TEXT = "SU04: I have my own copy now.\nSU04: My sister came to the meeting."


def qualcoder() -> None:
    a, b = span(QC_TEXT, "my own copy"), span(QC_TEXT, "My sister came to the meeting")
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="qc" origin="QualCoder 3.5" basePath="/home/someone/qc">
  <Users><User guid="2A000000-0000-0000-0000-000000000001" id="coder1"/></Users>
  <CodeBook>
    <Codes>
      <Code guid="2C000000-0000-0000-0000-000000000001" name="Copy of plan" isCodable="true" color="#AABBCC"/>
      <Code guid="2C000000-0000-0000-0000-000000000002" name="Carer involvement" isCodable="true" color="#112233"/>
    </Codes>
  </CodeBook>
  <Variables>
    <Variable guid="2D000000-0000-0000-0000-000000000001" name="Has carer" typeOfVariable="Boolean"/>
    <Variable guid="2D000000-0000-0000-0000-000000000002" name="Score" typeOfVariable="Float"/>
  </Variables>
  <Cases>
    <Case guid="2F000000-0000-0000-0000-000000000001" name="SU04">
      <Description>Recruited at site C.</Description>
      <VariableValue><VariableRef targetGUID="2D000000-0000-0000-0000-000000000001"/><BooleanValue>true</BooleanValue></VariableValue>
      <VariableValue><VariableRef targetGUID="2D000000-0000-0000-0000-000000000002"/><FloatValue>3.25</FloatValue></VariableValue>
      <SourceRef targetGUID="{QC_SRC}"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource guid="{QC_SRC}" name="SU04.txt" plainTextPath="internal://{QC_SRC}.txt" qcExtra="ignored">
      <PlainTextSelection guid="2B000000-0000-0000-0000-000000000001" name="my own copy" startPosition="{a[0]}"
                          endPosition="{a[1]}" creatingUser="2A000000-0000-0000-0000-000000000001">
        <Coding guid="29000000-0000-0000-0000-000000000001" creatingUser="2A000000-0000-0000-0000-000000000001">
          <CodeRef targetGUID="2C000000-0000-0000-0000-000000000001"/>
          <NoteRef targetGUID="28000000-0000-0000-0000-000000000001"/>
        </Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="2B000000-0000-0000-0000-000000000002" startPosition="{b[0]}" endPosition="{b[1]}"
                          creatingUser="2A000000-0000-0000-0000-000000000001">
        <Coding guid="29000000-0000-0000-0000-000000000002" creatingUser="2A000000-0000-0000-0000-000000000001">
          <CodeRef targetGUID="2C000000-0000-0000-0000-000000000002"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
  <Notes>
    <Note guid="28000000-0000-0000-0000-000000000001" name="copy memo" creatingUser="2A000000-0000-0000-0000-000000000001">
      <PlainTextContent>Got it after asking twice.</PlainTextContent>
    </Note>
  </Notes>
</Project>
"""
    write_zip("qualcoder.qdpx", {"project.qde": qde.encode("utf-8"), f"Sources/{QC_SRC}.txt": QC_TEXT.encode("utf-8")})


# --- a foreign codebook --------------------------------------------------------------------------------
def nvivo_codebook() -> None:
    qdc = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0">
  <Codes>
    <Code guid="3c000000-0000-0000-0000-000000000001" name="Recovery" color="#abc">
      <Description>Personal recovery.</Description>
      <Code guid="3c000000-0000-0000-0000-000000000002" name="Hope"/>
      <Code guid="3c000000-0000-0000-0000-000000000003" name="Identity">
        <Code guid="3c000000-0000-0000-0000-000000000004" name="Work &amp; identity" color="#00FF00"/>
      </Code>
    </Code>
    <Code guid="3c000000-0000-0000-0000-000000000005" name="Risk"/>
  </Codes>
</CodeBook>
"""
    (HERE / "nvivo.qdc").write_bytes(b"\xef\xbb\xbf" + qdc.encode("utf-8"))


if __name__ == "__main__":
    nvivo()
    maxqda()
    atlasti()
    qualcoder()
    nvivo_codebook()
    print(f"wrote REFI-QDA fixtures to {HERE}")
