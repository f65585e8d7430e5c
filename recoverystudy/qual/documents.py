"""Read transcripts and care plans into normalised text.

Every reader returns a :class:`DocumentText`: the text with newlines normalised once to ``"\\n"``
(``\\r\\n``, ``\\r``, U+2028/U+2029 and form feeds between pages become ``\\n``), the source format, the
detected encoding and the SHA-256 of the normalised text.  Offsets used anywhere in the qualitative
workspace are Python code-point offsets into this normalised text.

Supported: ``.txt``/``.md`` (UTF-8, UTF-8 with BOM, cp1252 - detected and recorded), ``.docx``
(python-docx), ``.odt`` (odfpy), ``.rtf`` (striprtf) and ``.pdf`` (pypdf, text layer only).
Empty, binary, corrupt, password-protected and unsupported files raise
:class:`~recoverystudy.errors.DocumentReadError` with ``file=`` and a plain ``reason=``.  ``.docx`` and ``.odt``
packages are zip archives: every member is inflated under the limits of :mod:`recoverystudy._archive` before
python-docx or odfpy opens them, and zip bombs raise :class:`~recoverystudy.errors.UnsafeDocumentError` (both a
``DocumentReadError`` and an ``UnsafeArchiveError``).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from recoverystudy._archive import check_zip
from recoverystudy.errors import DocumentReadError, UnsafeDocumentError

__all__ = ["DocumentText", "read_document", "normalise_text", "text_sha256", "SUPPORTED_FORMATS"]

SUPPORTED_FORMATS = ("txt", "md", "docx", "odt", "rtf", "pdf")


@dataclass(frozen=True)
class DocumentText:
    """The normalised text of one document and where it came from.

    Attributes
    ----------
    text : str
        The text, newlines normalised to ``"\\n"``.
    source_format : str
        One of ``"txt"``, ``"md"``, ``"docx"``, ``"odt"``, ``"rtf"``, ``"pdf"`` (``"text"`` for text
        passed directly rather than read from a file).
    encoding : str or None
        ``"utf-8"``, ``"utf-8-sig"`` or ``"cp1252"`` for plain-text files; ``None`` for the others.
    sha256 : str
        Hex SHA-256 of the normalised text encoded as UTF-8.
    path : str or None
        The file read, if any.
    """

    text: str
    source_format: str
    encoding: str | None
    sha256: str
    path: str | None = None

    @property
    def n_chars(self) -> int:
        """Number of code points in the normalised text."""
        return len(self.text)


def normalise_text(text: str) -> str:
    """Normalise line endings once: CRLF, CR, U+2028, U+2029, U+0085 and form feed become ``\\n``.

    Examples
    --------
    >>> normalise_text("a\\r\\nb\\rc\\u2028d")
    'a\\nb\\nc\\nd'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for ch in ("\u2028", "\u2029", "\u0085", "\f", "\v"):
        if ch in text:
            text = text.replace(ch, "\n")
    return text


def text_sha256(text: str) -> str:
    """Hex SHA-256 of *text* encoded as UTF-8.

    Examples
    --------
    >>> text_sha256("abc")[:12]
    'ba7816bf8f01'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fail(path: Path, reason: str) -> DocumentReadError:
    return DocumentReadError(f"Cannot read {path.name!r} ({path}): {reason}.", file=str(path), reason=reason)


def _decode_plain(data: bytes, path: Path) -> tuple[str, str]:
    if b"\x00" in data:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise _fail(path, "the file is UTF-16 encoded; save it as UTF-8 and try again")
        raise _fail(path, "the file is binary (it contains NUL bytes), not plain text")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise _fail(path, f"the file starts with a UTF-8 mark but byte {exc.start} is not UTF-8") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise _fail(
            path, f"the text is neither UTF-8 nor Windows-1252 (undecodable byte 0x{data[exc.start]:02x} "
            f"at position {exc.start})"
        ) from None
    return text, "cp1252"


def _read_docx(data: bytes, path: Path) -> str:
    import docx  # python-docx, imported lazily

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several unrelated types for broken files
        raise _fail(path, f"the Word file is corrupt or not a .docx file ({type(exc).__name__})") from exc
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _read_odt(data: bytes, path: Path) -> str:
    from odf import teletype
    from odf.opendocument import load

    try:
        document = load(io.BytesIO(data))
    except Exception as exc:  # odfpy raises zipfile/xml/key errors for broken files
        raise _fail(path, f"the OpenDocument file is corrupt or not an .odt file ({type(exc).__name__})") from exc
    lines: list[str] = []

    def walk(node) -> None:
        for child in node.childNodes:
            if getattr(child, "tagName", "") in ("text:p", "text:h"):
                lines.append(teletype.extractText(child))
            elif child.nodeType == child.ELEMENT_NODE:
                walk(child)

    walk(document.text)
    return "\n".join(lines)


def _read_rtf(data: bytes, path: Path) -> str:
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise _fail(path, "the file is not RTF (it does not start with '{\\rtf')")
    raw = data.decode("latin-1")
    try:
        return rtf_to_text(raw, errors="strict")
    except Exception as exc:
        raise _fail(path, f"the RTF file is corrupt ({type(exc).__name__}: {exc})") from exc


def _read_pdf(data: bytes, path: Path) -> str:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _fail(path, "the PDF is password-protected; remove the password and try again")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentReadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise _fail(path, f"the PDF is corrupt ({type(exc).__name__})") from exc
    text = "\n\n".join(p.strip("\n") for p in pages)
    if not text.strip():
        raise _fail(path, "the PDF has no text layer (it may be a scan); run OCR first")
    return text


def read_document(path: str | Path) -> DocumentText:
    """Read a transcript or care plan file into normalised text.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.txt``, ``.md``, ``.docx``, ``.odt``, ``.rtf`` or ``.pdf`` file.

    Returns
    -------
    DocumentText
        ``text`` (newlines normalised to ``\\n``), ``source_format``, ``encoding`` (plain text only),
        ``sha256`` of the normalised text and ``path``.

    Raises
    ------
    DocumentReadError
        The file is missing, empty, binary, corrupt, password-protected, has no text, or its format
        is not supported.  ``err.file`` and ``err.reason`` say which and why.

    Notes
    -----
    Plain text is tried as UTF-8 with a byte-order mark, then UTF-8, then Windows-1252; the encoding
    used is recorded.  Newlines are normalised exactly once, so offsets computed on
    ``DocumentText.text`` stay valid for the life of a project.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "su01.txt").write_bytes("Interviewer: Hello\\r\\nSU01: My care plan \\u2013 yes".encode("cp1252"))
    >>> doc = read_document(folder / "su01.txt")
    >>> doc.encoding, doc.source_format
    ('cp1252', 'txt')
    >>> doc.text
    'Interviewer: Hello\\nSU01: My care plan – yes'
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if not path.exists():
        raise _fail(path, "the file does not exist")
    if not path.is_file():
        raise _fail(path, "it is a folder, not a file")
    if suffix not in SUPPORTED_FORMATS:
        raise _fail(
            path, f"the format '.{suffix}' is not supported (supported: "
            + ", ".join("." + f for f in SUPPORTED_FORMATS) + ")"
        )
    data = path.read_bytes()
    if not data.strip():
        raise _fail(path, "the file is empty")
    encoding: str | None = None
    if suffix in ("txt", "md"):
        text, encoding = _decode_plain(data, path)
    elif suffix in ("docx", "odt"):
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise _fail(path, f"the file is corrupt or not a .{suffix} file (it is not a zip package)")
        # every member inflated under limits before python-docx / odfpy see the package
        check_zip(data, label=path, verb="read", unsafe=UnsafeDocumentError,
                  corrupt=lambda message, member: _fail(path, f"the file is corrupt: {message}"))
        text = _read_docx(data, path) if suffix == "docx" else _read_odt(data, path)
    elif suffix == "rtf":
        text = _read_rtf(data, path)
    else:
        if not data.lstrip().startswith(b"%PDF"):
            raise _fail(path, "the file is corrupt or not a PDF (it does not start with '%PDF')")
        text = _read_pdf(data, path)
    text = normalise_text(text)
    if not text.strip():
        raise _fail(path, "the document contains no text")
    return DocumentText(text=text, source_format=suffix, encoding=encoding, sha256=text_sha256(text), path=str(path))


def document_from_text(text: str) -> DocumentText:
    """Wrap text given directly (not read from a file) as a :class:`DocumentText`.

    Examples
    --------
    >>> document_from_text("a\\r\\nb").text
    'a\\nb'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}.")
    normalised = normalise_text(text)
    if not normalised.strip():
        raise DocumentReadError("The document text is empty.", file=None, reason="the text is empty")
    return DocumentText(text=normalised, source_format="text", encoding=None, sha256=text_sha256(normalised))
