"""Build the non-.txt synthetic care plans and the unreadable files from the sources beside this script.

Run from anywhere:  python tests/data/care_plans/_build/make_formats.py
Outputs go to tests/data/care_plans/ (one level up).  Deterministic: re-running gives the same text.

* plan_02, plan_29 -> .docx (python-docx; "# " lines become Heading 1)
* plan_17, plan_28 -> .odt  (odfpy; "# " lines become headings)
* plan_18          -> .rtf  (plain RTF, one \\par per line)
* plan_19, plan_20 -> .pdf  (a minimal hand-written PDF 1.4 with Helvetica text)
* zz_empty.txt (0 bytes), zz_binary.txt (random bytes), zz_corrupt.docx (a truncated zip),
  zz_protected.pdf (plan_20 encrypted with a user password via pypdf)
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent


def _lines(name: str) -> list[str]:
    return (HERE / f"{name}.txt").read_text(encoding="utf-8").splitlines()


def make_docx(name: str) -> None:
    import docx

    document = docx.Document()
    for line in _lines(name):
        if line.startswith("# "):
            document.add_heading(line[2:], level=1)
        elif line.strip():
            document.add_paragraph(line)
    document.core_properties.author = "synthetic"
    document.save(OUT / f"{name}.docx")


def make_odt(name: str) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    for line in _lines(name):
        if line.startswith("# "):
            document.text.addElement(H(outlinelevel=1, text=line[2:]))
        elif line.strip():
            document.text.addElement(P(text=line))
    document.save(str(OUT / f"{name}.odt"))


def make_rtf(name: str) -> None:
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")

    body = "\n".join(esc(line) + "\\par" for line in _lines(name))
    text = "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\\f0\\fs22\n" + body + "\n}"
    (OUT / f"{name}.rtf").write_text(text, encoding="ascii")


def _pdf_bytes(lines: list[str]) -> bytes:
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    pages = [lines[i : i + 55] for i in range(0, len(lines), 55)] or [[]]
    objects: list[bytes] = []
    n_pages = len(pages)
    # 1 catalog, 2 pages, 3 font, then (page, content) pairs
    kids = " ".join(f"{4 + 2 * k} 0 R" for k in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for k, page in enumerate(pages):
        stream = "BT /F1 10 Tf 12 TL 50 800 Td\n" + "".join(f"({esc(l)}) Tj T*\n" for l in page) + "ET"
        data = stream.encode("cp1252")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * k} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_pdf(name: str) -> None:
    (OUT / f"{name}.pdf").write_bytes(_pdf_bytes(_lines(name)))


def make_bad_files() -> None:
    (OUT / "zz_empty.txt").write_bytes(b"")
    rng = random.Random(20250101)
    (OUT / "zz_binary.txt").write_bytes(bytes(rng.randrange(256) for _ in range(2048)))
    good = OUT / "plan_02.docx"
    (OUT / "zz_corrupt.docx").write_bytes(good.read_bytes()[:700])
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(OUT / "plan_20.pdf").pages:
        writer.add_page(page)
    writer.encrypt(user_password="synthetic-password", owner_password="synthetic-owner", algorithm="AES-128")
    with open(OUT / "zz_protected.pdf", "wb") as fh:
        writer.write(fh)
    assert not zipfile.is_zipfile(OUT / "zz_corrupt.docx") or True


def main() -> None:
    for name in ("plan_02", "plan_29"):
        make_docx(name)
    for name in ("plan_17", "plan_28"):
        make_odt(name)
    make_rtf("plan_18")
    for name in ("plan_19", "plan_20"):
        make_pdf(name)
    make_bad_files()


if __name__ == "__main__":
    main()
