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
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path

import numpy as np
import pandas as pd

from recoverystudy.errors import PrivacyError
from recoverystudy.privacy.redact import REDACTION_MARKERS, _find_spans, _resolve

__all__ = ["VouchedTable", "find_identifier_kinds", "quote_parts_plain", "readable_text", "scan_and_write",
           "texts_clean"]

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


# --- quoted values scanned once, where they are made ----------------------------------------------------
# A long table (the per-plan scorecard) repeats each quoted sentence under several criteria.  Its quotes are
# scanned once each, on their own, by the worker that redacted them (:func:`texts_clean`); the final scan
# then reads the table with those quotes blanked (:class:`VouchedTable`).  That is exactly as strict as
# reading the whole table, because no detector's match, and no context a detector looks at, can cross from
# a quote into its neighbours in the written table - provided the conditions checked below hold:
#
# * In the table a quote stands as ``<field>,<q1> | <q2> | ... | <qk>,<field>`` (CSV-quoted, inner ``"``
#   doubled, when it holds a comma or quote), and the offsets as ``<p1>; <p2>; ...``.  Every detector's
#   match is made of letters, digits and the few separators it names (spaces and tabs, ``.-/:()'``, line
#   breaks); ``|``, ``;`` and ``"`` are in none of them (``;`` only in the context of a name, below, and
#   before a label, where a quote on its own is read as starting a line), and a comma is only followed by
#   a space or tab inside a match.  A quote that does not start with white space is therefore never
#   joined to the field before it, and the parts stay apart.
# * The one pattern that admits any character is a bracket in a name label ("Carer (mum): Jean"): a
#   quote (or a field before the quote column) with a ``(`` after its last ``)`` is not vouched for.
# * Look-arounds at a quote's edges see a space, comma or ``"`` in the table and the start or end of the
#   text on its own: the same verdict for every look-around the detectors use (``\b``, "not a word
#   character", "not a digit"...), and ``^`` and the "after '; '" label context can only match *more*
#   often on its own.  Line breaks (``\r`` and the other characters ``\s`` or ``^`` treat as one) and
#   embedded images (``data:``, blanked by the scan) are not vouched for.
# * The context a detector reads from the whole text - earlier names (for their repeats) and the plan date
#   (for dates of birth next to a name) - matters only where a name is found, and a name inside a quote is
#   found in the quote on its own; a names-list entry holding ``|``, ``,``, ``"`` or a line break turns
#   vouching off altogether.
#
# Quotes scanned joined by ``_HARD_BREAK`` (which no detector crosses: no pattern takes ``\0``) are
# clean only if each is clean on its own.  The tests plant identifiers across every kind of edge.
_HARD_BREAK = "\n\0\n"
_LINE_LIKE = re.compile(r"data:|[\r\n\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")
_NAME_RISK = re.compile(r'[|,"\r\n\x0b\x0c\x1c-\x1f\x85\u2028\u2029]')
_CLEAN_CHUNK = 1_000_000  # characters of quotes scanned at once


def quote_parts_plain(parts: Iterable[str]) -> bool:
    """True if the quotes *parts*, joined by ``" | "`` or ``"; "`` in a CSV field, can be vouched for one
    by one: none is empty or starts or ends with white space, none holds a line-break character or ``data:``,
    and none has a ``(`` after its last ``)``.

    >>> quote_parts_plain(["Review 12/09/2025 (JS 01/02).", "Call the team"])
    True
    >>> quote_parts_plain(["Carer (mother", "aunt): Jean"])
    False
    """
    for p in parts:
        if not p or p[0].isspace() or p[-1].isspace() or p.rfind("(") > p.rfind(")") or _LINE_LIKE.search(p):
            return False
    return True


def texts_clean(texts: Iterable[str], names: Iterable[str] | None = None) -> bool:
    """True if no text of *texts*, scanned on its own, holds an identifier (:func:`find_identifier_kinds`).

    The texts are scanned joined by a break no detector crosses, about a million characters at a time.

    >>> texts_clean(["Review 12/09/2025.", "Walks the dog."]), texts_clean(["ok", "call 07700 900123"])
    (True, False)
    """
    names = list(names) if names else None
    batch: list[str] = []
    size = 0
    for t in texts:
        batch.append(t)
        size += len(t) + 3
        if size >= _CLEAN_CHUNK:
            if find_identifier_kinds(_HARD_BREAK.join(batch), names):
                return False
            batch, size = [], 0
    return not (batch and find_identifier_kinds(_HARD_BREAK.join(batch), names))


@dataclass(frozen=True)
class VouchedTable:
    """A long CSV text to write (*parts*, joined in order; a list or any re-iterable of str) and the text
    the final scan must read instead (*scan_parts*): the same table with the quoted cells blanked where
    every quote was scanned on its own and found clean (:func:`texts_clean`) and may be vouched for
    (:func:`quote_parts_plain`).  Made by :func:`vouched_table`.  If the scan of *scan_parts* finds anything, the whole text is scanned
    instead, so that the error names exactly the kinds a scan of the written file names."""

    parts: list
    scan_parts: list


def vouched_table(frame, columns: list[str], vouch: list[str], vouched, names, to_parts: Callable,
                  parts=None) -> VouchedTable:
    """The table ``frame[columns]`` as CSV parts (``to_parts(frame, columns)``) with what the scan reads:
    the columns *vouch* blanked in the rows where *vouched* (a boolean array: each quote in those cells was
    found clean on its own by :func:`texts_clean` and is plain by :func:`quote_parts_plain`) - unless a
    names-list entry or a value of another column could join a quote (a ``(`` after its last ``)``, a line
    break or ``data:``, or leading white space; see the notes above :data:`_HARD_BREAK`), when nothing is
    vouched for.  A leading column of pseudonyms is read as one pseudonym (the scan reads every pseudonym
    as ``P-pseudonym``) and rows that then read the same are scanned once.  *parts*: the text to write
    (any re-iterable of str, e.g. made as it is read), by default ``to_parts(frame, columns)``."""
    vouched = np.asarray(vouched, dtype=bool)
    risky = any(_NAME_RISK.search(n) for n in (names or ()))
    for col in columns:
        if col in vouch or risky:
            continue
        values = [str(v) for v in pd.unique(frame[col].to_numpy())]
        risky = any(v.rfind("(") > v.rfind(")") or _LINE_LIKE.search(v) or v[:1].isspace() for v in values)
    if parts is None:
        parts = to_parts(frame, columns)
    if risky or not vouched.any():
        return VouchedTable(parts, parts)
    # rows whose vouched cells are blanked (or blank) are read once for each way they then read; the
    # others whole.  Found from column codes, without a second copy of the table.
    blank = vouched.copy()
    empty = np.ones(len(frame), dtype=bool)
    for col in vouch:
        empty &= (frame[col] == "").to_numpy(dtype=bool)
    blank |= empty
    first = columns[0]
    pseudonyms = first not in vouch and all(
        isinstance(v, str) and _PSEUDONYM.fullmatch(v) is not None for v in pd.unique(frame[first].to_numpy())
    )
    key = np.zeros(len(frame), dtype=np.int64)
    for col in columns:
        if col in vouch or (pseudonyms and col == first):
            continue
        codes, uniques = pd.factorize(frame[col], use_na_sentinel=False)
        key = pd.factorize(key * max(len(uniques), 1) + codes)[0]
    rows = np.flatnonzero(blank)
    rows = np.sort(np.concatenate([rows[np.unique(key[rows], return_index=True)[1]], np.flatnonzero(~blank)]))
    scan = frame.iloc[rows][columns]
    positions = [columns.index(c) for c in vouch]
    scan.iloc[np.flatnonzero(blank[rows]), positions] = ""
    if pseudonyms:
        scan[first] = "P-000000000000"  # the scan reads every pseudonym as one
    return VouchedTable(parts, to_parts(scan, columns))


def _check(contents: Mapping[Path, bytes | str], names, extra_text: Mapping[Path, str] | None, mapper=None) -> None:
    problems = []
    names = list(names) if names else None
    for path, data in contents.items():
        if isinstance(data, VouchedTable):
            tail = [_CELL + extra_text[path]] if extra_text and path in extra_text else []
            kinds = _kinds(list(data.scan_parts) + tail, names, mapper)
            if kinds and data.scan_parts is not data.parts:
                kinds = _kinds(list(data.parts) + tail, names, mapper)  # name exactly what the file holds
            if kinds:
                problems.append((path, kinds))
            continue
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
                if isinstance(data, VouchedTable):
                    data = data.parts
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
