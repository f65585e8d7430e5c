"""The last line of defence: scan every shareable file *before* it is written, then write all or nothing.

:func:`scan_and_write` takes the finished bytes of every output file, extracts the text a reader would
see (HTML text and attribute values such as image ``alt`` text, every cell of an Excel workbook, CSV,
JSON, and the text chunks and labels of a PNG), looks for identifiers with the same detectors as
redaction (:func:`recoverystudy.redact`: NHS numbers, dates of birth, phones, e-mails, postcodes,
hospital numbers, street addresses, names after titles, roles and labels, and the supplied names
list), and refuses with a :class:`~recoverystudy.errors.PrivacyError` naming the file and the kind of
identifier - never the value.  Only when every file is clean are they written: each to a temporary
name in its folder, then renamed into place.  If anything fails, only the temporary files this call
created are removed; files already in the folder (an earlier report, the user's own files) are never
touched.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable, Mapping
from hashlib import blake2b
from pathlib import Path

from recoverystudy.errors import PrivacyError
from recoverystudy.privacy.redact import REDACTION_MARKERS, _find_spans, _resolve

__all__ = ["find_identifier_kinds", "readable_text", "scan_and_write"]

_PSEUDONYM = re.compile(r"\bP-[0-9a-f]{12}\b")
_DATA_URI = re.compile(r"data:[a-z]+/[a-z+.\-]+;base64,[A-Za-z0-9+/=]+")
_CELL = " \u2502 "  # cells are kept apart so that numbers in neighbouring cells never join


def find_identifier_kinds(text: str, names: Iterable[str] | None = None) -> list[str]:
    """The kinds of identifier found in *text* (e.g. ``["nhs_number", "phone"]``), never the values.

    Uses every detector redaction uses, including the name rules; our own markers (``[name]``) and
    pseudonyms (``P-0a1b2c3d4e5f``) are not identifiers.

    Examples
    --------
    >>> find_identifier_kinds("NHS number: 945.807.3022, seen by Dr O'Brien")
    ['name', 'nhs_number']
    >>> find_identifier_kinds("Plan P-071234567890: met. NHS number: [NHS number]")
    []
    """
    text = _PSEUDONYM.sub("P-pseudonym", _DATA_URI.sub(" ", text))
    spans = _resolve(_find_spans(text, list(names) if names else None, name_rules=True))
    return sorted({cat for _, _, cat, _ in spans})


def _html_text(data: str) -> str:
    data = _DATA_URI.sub(" ", data)
    data = re.sub(r"(?is)<(style|script)\b.*?</\1>", " ", data)
    attrs = re.findall(r"""\b(?:alt|title|aria-label|content|value|placeholder)\s*=\s*(?:"([^"]*)"|'([^']*)')""", data)
    body = re.sub(r"<[^>]+>", _CELL, data)
    return html.unescape(body + _CELL + _CELL.join(a or b for a, b in attrs))


def _xlsx_text(data: bytes) -> str:
    parts = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.endswith((".xml", ".rels", ".vml")):
                xml = z.read(name).decode("utf-8", "replace")
                parts.append(html.unescape(re.sub(r"<[^>]+>", _CELL, xml)))
    return _CELL.join(parts)


def _png_text(data: bytes) -> str:
    """Text chunks (tEXt, iTXt, zTXt keywords and values) of a PNG."""
    import zlib

    out, pos = [], 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            out.append(chunk.replace(b"\0", b" ").decode("latin-1"))
        elif kind == b"zTXt":
            key, _, rest = chunk.partition(b"\0")
            out.append(key.decode("latin-1") + " " + zlib.decompress(rest[1:]).decode("latin-1", "replace"))
        elif kind == b"iTXt":
            out.append(chunk.replace(b"\0", b" ").decode("utf-8", "replace"))
        pos += 12 + length
    return _CELL.join(out)


def readable_text(filename: str, data: bytes | str) -> str:
    """The text a reader of *filename* could see, for the scan (cells and tags kept apart).

    Examples
    --------
    >>> readable_text("a.html", "<td>2025</td><td>626-649</td><img alt='Mr Smith'>").count("Mr Smith")
    1
    """
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_text(data if isinstance(data, bytes) else data.encode())
    if suffix == ".png":
        return _png_text(data if isinstance(data, bytes) else data.encode())
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if suffix in (".html", ".htm", ".svg", ".xml"):
        return _html_text(text)
    if suffix == ".json":
        try:
            return _CELL.join(_json_strings(json.loads(text)))
        except ValueError:
            return text
    return text


def _json_strings(obj) -> list[str]:
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in [str(k), *_json_strings(v)]]
    if isinstance(obj, list):
        return [s for v in obj for s in _json_strings(v)]
    return [str(obj)]


#: Texts longer than this are scanned in pieces (each piece a task for a worker when a mapper is given).
_PIECE = 4_000_000
# A line that starts with a pseudonym (a row of a person-level table): no detector's match can run from
# the line before into it, and none needs to look back past it, so the text may be cut just before it.
_CUT = re.compile(r"\n(?=P-[0-9a-f]{12}\b)")


def _rows(parts: list[str]):
    """Each row of the text ``"".join(parts)``, cut only where :data:`_CUT` allows, with a key that
    is the same for rows that read the same but for a leading pseudonym (the scan reads every
    pseudonym as "P-pseudonym")."""
    first = True
    for part in parts:
        start = 0
        ends = [m.start() + 1 for m in _CUT.finditer(part)]
        ends.append(len(part))
        for end in ends:
            if end == start and end == len(part):
                break  # the part ended with a cut
            row = part[start:end]
            start = end
            data = b"\0" + row.encode("utf-8", "surrogatepass") if first else row[14:].encode("utf-8", "surrogatepass")
            first = False
            yield row, blake2b(data, digest_size=16).digest()


def _pieces(parts: list[str]):
    """The distinct rows of ``"".join(parts)`` (see :func:`_rows`), in pieces of about :data:`_PIECE`
    characters.  Every row is clean or not on its own, so the text is clean if and only if every
    piece is."""
    seen: set[bytes] = set()
    rows: list[str] = []
    size = 0
    for row, key in _rows(parts):
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
        size += len(row)
        if size >= _PIECE:
            yield "".join(rows)
            rows, size = [], 0
    if rows:
        yield "".join(rows)


def _cut_parts(parts: list[str]) -> bool:
    """True if *parts* meet only at places :data:`_CUT` allows (each after the first starts a row)."""
    return all(
        parts[i - 1].endswith("\n") and _CUT.match("\n" + parts[i]) is not None for i in range(1, len(parts))
    )


def _piece_kinds(task: tuple) -> list[str]:
    text, names = task
    return find_identifier_kinds(text, names)


def _kinds(parts: list[str], names, mapper) -> list[str]:
    """:func:`find_identifier_kinds` of the text ``"".join(parts)``, computed piece by piece (possibly
    by workers).

    A row with no identifier has none in the whole text either: each detector's matches and the
    context they look at stay inside the rows (see :data:`_CUT`), and rows that read the same after
    their pseudonym are clean or not alike; the only whole-text context - earlier names and the plan
    date, used for repeats of a name and dates of birth next to a name - matters only where a name was
    found.  So when every piece is clean the text is clean, and when any piece is not, the whole text
    is scanned again to name exactly the kinds the one-pass scan would name.
    """
    total = sum(len(p) for p in parts)
    whole = total <= _PIECE or any("\n" in n or "\r" in n for n in names or ()) or not _cut_parts(parts)
    if not whole:
        run = mapper if mapper is not None else (lambda fn, tasks: [fn(t) for t in tasks])
        batch: list = []
        dirty = False
        for piece in _pieces(parts):
            batch.append((piece, names))
            if len(batch) == 8:
                dirty = any(run(_piece_kinds, batch))
                batch = []
                if dirty:
                    break
        if not dirty and batch:
            dirty = any(run(_piece_kinds, batch))
        if not dirty:
            return []
    return find_identifier_kinds(parts[0] if len(parts) == 1 else "".join(parts), names)


def _check(contents: Mapping[Path, bytes | str], names, extra_text: Mapping[Path, str] | None, mapper=None) -> None:
    problems = []
    names = list(names) if names else None
    for path, data in contents.items():
        if isinstance(data, list) and Path(path).suffix.lower() in (".csv", ".txt", ".tsv"):
            parts = list(data)  # a long table in parts, read in order: plain text, nothing to extract
        else:
            parts = [readable_text(path.name, "".join(data) if isinstance(data, list) else data)]
        if extra_text and path in extra_text:
            parts.append(_CELL + extra_text[path])
        kinds = _kinds(parts, names, mapper)
        if kinds:
            problems.append((path, kinds))
    if problems:
        described = "; ".join(
            f"{p.name}: {', '.join(REDACTION_MARKERS.get(k, k).strip('[]') for k in kinds)}" for p, kinds in problems
        )
        raise PrivacyError(
            f"Nothing was written: identifiers were found in the outputs before writing ({described}). "
            "Check the team names, metadata and names list, or report a redaction miss.",
            files=[str(p) for p, _ in problems],
            kinds=sorted({k for _, kinds in problems for k in kinds}),
        )


def scan_and_write(
    contents: Mapping[str | os.PathLike, bytes | str],
    names: Iterable[str] | None = None,
    *,
    extra_text: Mapping[str | os.PathLike, str] | None = None,
    mapper: Callable[[Callable, list], list] | None = None,
) -> list[Path]:
    """Scan every output for identifiers, then write them all (atomically, each by rename) or none.

    Parameters
    ----------
    contents : mapping of path -> bytes, str or list of str
        The finished files (a list of str: a long text file in parts, written one after another).
        Folders must exist.
    names : iterable of str, optional
        Names to look for besides the built-in detectors.
    extra_text : mapping of path -> str, optional
        Text drawn into a file that cannot be read back from its bytes (the labels of a chart).
    mapper : callable, optional
        ``mapper(fn, tasks) -> [fn(t) for t in tasks]``, e.g. the ``map`` of a pool of worker
        processes: a long file is scanned in pieces, shared out this way.  The verdict and the kinds
        named are those of one scan of the whole file.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    PrivacyError
        Naming each file and the kinds of identifier found in it (never the values); nothing is
        written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> try:
    ...     scan_and_write({d / "a.csv": "team,tel\\nNorth,07700 900123\\n"})
    ... except PrivacyError as e:
    ...     print(e)
    Nothing was written: identifiers were found in the outputs before writing (a.csv: phone number). ...
    >>> sorted(p.name for p in d.iterdir())
    []
    """
    paths = {Path(p): v for p, v in contents.items()}
    extra = {Path(p): v for p, v in (extra_text or {}).items()}
    _check(paths, names, extra, mapper)
    token = secrets.token_hex(4)
    temps: list[Path] = []
    try:
        for path, data in paths.items():
            tmp = path.with_name(f".{path.name}.{token}.partial")
            temps.append(tmp)
            with open(tmp, "xb") as fh:  # "x": never overwrite anything that is already there
                if isinstance(data, bytes):
                    fh.write(data)
                else:  # encoded a slice at a time: no second copy of a long text
                    for part in [data] if isinstance(data, str) else data:
                        for i in range(0, len(part), _PIECE):
                            fh.write(part[i : i + _PIECE].encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, path in zip(temps, paths):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    return list(paths)
