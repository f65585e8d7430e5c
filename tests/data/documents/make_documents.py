"""Generate the tiny sample documents used by tests/test_qual_documents.py.

Run from anywhere: ``python tests/data/documents/make_documents.py``.  The output is deterministic
(fixed timestamps in the zip-based formats are not needed: tests compare text, not bytes).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
TEXT = "Interviewer: Do you have a copy of your care plan?\nSU01: Yes, my care coordinator gave me one – last week."


def _pdf_bytes(lines: list[str]) -> bytes:
    """A minimal one-page PDF with a Helvetica text layer (written by hand, no PDF library)."""
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for line in lines:
        esc = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({esc}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def main() -> None:
    (HERE / "utf8.txt").write_bytes(TEXT.replace("\n", "\r\n").encode("utf-8"))
    (HERE / "utf8_bom.txt").write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    (HERE / "cp1252.txt").write_bytes(TEXT.replace("\n", "\r").encode("cp1252"))
    (HERE / "notes.md").write_bytes(("# Notes\n\n" + TEXT + "\n").encode("utf-8"))
    (HERE / "empty.txt").write_bytes(b"")
    (HERE / "blank.txt").write_bytes(b"  \r\n\t\n")
    (HERE / "binary.txt").write_bytes(b"\x00\x01\x02PK\x00\xffdata")
    (HERE / "corrupt.docx").write_bytes(b"PK\x03\x04 this is not really a zip file")
    (HERE / "notzip.odt").write_bytes(b"hello, I am not an OpenDocument file")
    (HERE / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> garbage")
    (HERE / "plain.rtf").write_bytes(b"this is not rtf at all")
    (HERE / "sheet.xlsx").write_bytes(b"PK\x03\x04")

    import docx

    d = docx.Document()
    for line in TEXT.split("\n"):
        d.add_paragraph(line)
    d.save(HERE / "sample.docx")

    from odf.opendocument import OpenDocumentText
    from odf.text import P

    o = OpenDocumentText()
    for line in TEXT.split("\n"):
        o.text.addElement(P(text=line))
    o.save(str(HERE / "sample.odt"))

    rtf_body = TEXT.replace("–", "\\'96").replace("\n", "\\par\n")
    (HERE / "sample.rtf").write_bytes(
        ("{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0 Helvetica;}}\\f0\\fs24 " + rtf_body + "\\par\n}").encode("latin-1")
    )

    pdf = _pdf_bytes(["Interviewer: Do you have a copy of your care plan?", "SU01: Yes, my care coordinator gave me one."])
    (HERE / "sample.pdf").write_bytes(pdf)

    from io import BytesIO

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(BytesIO(pdf)).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with open(HERE / "encrypted.pdf", "wb") as fh:
        writer.write(fh)


if __name__ == "__main__":
    main()
