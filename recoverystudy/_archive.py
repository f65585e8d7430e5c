"""Reading zip archives safely: every member is inflated in bounded chunks and measured by what it produces.

Zip headers say how large each member is, but nothing forces them to tell the truth: a member declared as
1,000 bytes may inflate to a gigabyte, and three hundred members of exactly 1 MiB of zeros fit in a few hundred
kilobytes.  :class:`SafeZip` therefore never trusts the header sizes.  It

* checks the directory first (member count, member paths that are absolute, contain ``..`` or a drive letter,
  duplicate names, encrypted members, compression methods other than *stored* and *deflate*, and the declared
  sizes against the limits, per member and for the whole archive);
* inflates each member itself, 64 KiB at a time, counting the bytes actually produced, and stops as soon as a
  member produces more than its header declared, more than :attr:`ArchiveLimits.max_member_bytes`, or expands
  more than :attr:`ArchiveLimits.max_ratio` times its compressed size, or when the members read so far together
  exceed :attr:`ArchiveLimits.max_total_bytes` or :attr:`ArchiveLimits.max_ratio` times their compressed size;
* checks the CRC-32 of every member.

:meth:`SafeZip.verify` streams every member through these checks without keeping the data, so that an archive
can be proven harmless *before* a third-party library (python-docx, odfpy, openpyxl) opens it: those libraries
read the same central directory with :mod:`zipfile` and therefore see exactly the bytes that were verified.

Refusals raise :class:`~recoverystudy.errors.UnsafeArchiveError` (or the subclass the caller names, e.g.
:class:`~recoverystudy.errors.UnsafeDocumentError`) with ``file``, ``member`` and ``reason`` attributes;
damaged archives raise the caller's ordinary read error.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from recoverystudy.errors import ImportFormatError, UnsafeArchiveError

__all__ = ["ArchiveLimits", "DEFAULT_LIMITS", "SafeZip", "check_zip", "unsafe_member_name"]

_CHUNK = 64 * 1024
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may hold and expand to.

    Attributes
    ----------
    max_members : int
        Most members (files and folders) an archive may list.
    max_member_bytes : int
        Largest number of bytes one member may inflate to.
    max_total_bytes : int
        Largest number of bytes all members read together may inflate to.
    max_ratio : float
        Largest expansion (bytes produced / compressed bytes), applied to each member and to all members read
        together once they have produced at least ``ratio_min_bytes``.  Text and XML rarely compress more than
        20 times; zip bombs compress about 1,000 times.
    ratio_min_bytes : int
        Below this many bytes produced the ratio is not checked (tiny repetitive files compress very well).
    """

    max_members: int = 100_000
    max_member_bytes: int = 1024 ** 3
    max_total_bytes: int = 2 * 1024 ** 3
    max_ratio: float = 100.0
    ratio_min_bytes: int = 1024 ** 2


#: The limits used unless a reader names others.
DEFAULT_LIMITS = ArchiveLimits()


def unsafe_member_name(name: str) -> bool:
    """True if a member path is empty, absolute, contains ``..``, a NUL or a drive letter (it could escape a folder).

    Examples
    --------
    >>> unsafe_member_name("Sources/a.txt"), unsafe_member_name("../a.txt"), unsafe_member_name("C:/a.txt")
    (False, True, True)
    """
    norm = name.replace("\\", "/")
    return (not norm or "\x00" in norm or norm.startswith("/") or bool(re.match(r"^[A-Za-z]:", norm))
            or ".." in norm.split("/"))


def _default_corrupt(label: str, message: str, member: str | None) -> Exception:
    return ImportFormatError(f"{label}: {message}.", file=label, member=member)


class SafeZip:
    """A zip archive whose members are read with bounded, measured inflation.

    Parameters
    ----------
    source : path, bytes, binary file object or zipfile.ZipFile
        The archive.  A :class:`zipfile.ZipFile` already open for reading is used as it is (and not closed).
    label : str or path, optional
        How the archive is named in messages (default: its path).
    limits : ArchiveLimits, optional
        The limits (default :data:`DEFAULT_LIMITS`).
    verb : str
        What the caller is doing, for messages (``"Refusing to import x.qdpx: ..."``).
    unsafe : exception class
        Raised for refusals (default :class:`~recoverystudy.errors.UnsafeArchiveError`); it is called with
        the message and ``file=``, ``member=``, ``reason=``.
    corrupt : callable, optional
        ``corrupt(message, member)`` returns the exception raised for a damaged archive (default
        :class:`~recoverystudy.errors.ImportFormatError`).

    Examples
    --------
    >>> import io, zipfile
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
    ...     zf.writestr("a.txt", "hello " * 10)
    >>> with SafeZip(buf.getvalue(), label="demo.zip") as z:
    ...     z.read("a.txt")[:11], z.produced
    (b'hello hello', 60)
    """

    def __init__(self, source: str | os.PathLike | bytes | BinaryIO | zipfile.ZipFile, *,
                 label: str | os.PathLike | None = None, limits: ArchiveLimits = DEFAULT_LIMITS,
                 verb: str = "read", unsafe: type[UnsafeArchiveError] = UnsafeArchiveError,
                 corrupt: Callable[[str, str | None], Exception] | None = None) -> None:
        self.limits = limits
        self.verb = verb
        self._unsafe_cls = unsafe
        self.produced = 0
        self.compressed = 0
        self._owns = not isinstance(source, zipfile.ZipFile)
        if label is None:
            label = getattr(source, "filename", None) or (source if isinstance(source, (str, os.PathLike))
                                                           else "the archive")
        self.label = str(label)
        self._corrupt = corrupt or (lambda message, member: _default_corrupt(self.label, message, member))
        try:
            if isinstance(source, zipfile.ZipFile):
                self.zip = source
            elif isinstance(source, (bytes, bytearray, memoryview)):
                self.zip = zipfile.ZipFile(io.BytesIO(bytes(source)))
            elif isinstance(source, (str, os.PathLike)):
                self.zip = zipfile.ZipFile(Path(source))
            else:
                self.zip = zipfile.ZipFile(source)
            self.infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise self._corrupt(f"it is not a readable zip archive ({exc})", None) from exc
        try:
            self._check_directory()
        except BaseException:
            self.close()
            raise

    # -- refusals -------------------------------------------------------------------------------------------
    def _refuse(self, message: str, reason: str, member: str | None = None) -> UnsafeArchiveError:
        return self._unsafe_cls(f"Refusing to {self.verb} {self.label}: {message}.", file=self.label,
                                member=member, reason=reason)

    def _check_directory(self) -> None:
        lim = self.limits
        if len(self.infos) > lim.max_members:
            raise self._refuse(f"the archive has {len(self.infos)} members, more than the limit of "
                               f"{lim.max_members}", "member count")
        seen: set[str] = set()
        declared = compressed = 0
        for info in self.infos:
            name = info.filename
            if unsafe_member_name(name):
                raise self._refuse(f"member {name!r} has a path that escapes the archive (absolute, '..' or a "
                                   f"drive letter)", "path", name)
            norm = name.replace("\\", "/").removeprefix("./")
            if norm in seen:
                raise self._refuse(f"member {norm!r} occurs twice", "duplicate member", norm)
            seen.add(norm)
            if info.flag_bits & 0x1:
                raise self._corrupt(f"member {name!r} is encrypted (password-protected); save it again without "
                                    f"a password", name)
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self._corrupt(f"member {name!r} uses compression method {info.compress_type}; only stored "
                                    f"and deflate are read", name)
            if info.file_size > lim.max_member_bytes:
                raise self._refuse(f"member {name!r} declares {info.file_size} bytes, more than the limit of "
                                   f"{lim.max_member_bytes} for one member", "member size", name)
            self._check_ratio(name, info.file_size, info.compress_size)
            declared += info.file_size
            compressed += info.compress_size
        if declared > lim.max_total_bytes:
            raise self._refuse(f"the archive expands to {declared} bytes, more than the limit of "
                               f"{lim.max_total_bytes}", "size")
        if declared >= lim.ratio_min_bytes and declared > lim.max_ratio * max(compressed, 1):
            raise self._refuse(f"its {len(self.infos)} members expand {declared / max(compressed, 1):.0f} times "
                               f"together ({declared} bytes from {compressed}; limit {lim.max_ratio:g}); this looks "
                               f"like a zip bomb", "compression ratio")

    def _check_ratio(self, name: str, produced: int, compressed: int) -> None:
        lim = self.limits
        if produced >= lim.ratio_min_bytes and produced > lim.max_ratio * max(compressed, 1):
            raise self._refuse(f"member {name!r} expands {produced / max(compressed, 1):.0f} times (limit "
                               f"{lim.max_ratio:g}); this looks like a zip bomb", "compression ratio", name)

    # -- reading --------------------------------------------------------------------------------------------
    def _info(self, member: str | zipfile.ZipInfo) -> zipfile.ZipInfo:
        if isinstance(member, zipfile.ZipInfo):
            return member
        try:
            return self.zip.getinfo(member)
        except KeyError:
            raise self._corrupt(f"there is no member {member!r}", member) from None

    def _data_offset(self, fh: BinaryIO, info: zipfile.ZipInfo) -> int:
        fh.seek(info.header_offset)
        head = fh.read(_LOCAL_HEADER.size)
        if len(head) != _LOCAL_HEADER.size or head[:4] != _LOCAL_SIGNATURE:
            raise self._corrupt(f"member {info.filename!r} has a damaged local header", info.filename)
        fields = _LOCAL_HEADER.unpack(head)
        return info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]

    def _stream(self, member: str | zipfile.ZipInfo, sink: Callable[[bytes], object] | None) -> int:
        """Inflate one member in bounded chunks, checking every limit as bytes are produced."""
        info = self._info(member)
        name, lim = info.filename, self.limits
        member_cap = min(info.file_size, lim.max_member_bytes)
        fp = self.zip.fp
        if fp is None:
            raise self._corrupt("the archive is closed", name)
        produced = 0
        crc = 0
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        try:
            pos = self._data_offset(fp, info)
            left = info.compress_size
            while True:
                if inflater is None:
                    if left <= 0:
                        break
                    out = self._read_raw(fp, pos, left, name)
                    pos += len(out)
                    left -= len(out)
                else:
                    if inflater.eof:
                        break
                    if inflater.unconsumed_tail:
                        data = inflater.unconsumed_tail
                    elif left > 0:
                        data = self._read_raw(fp, pos, left, name)
                        pos += len(data)
                        left -= len(data)
                    else:
                        data = b""
                    # never more than one chunk at a time, whatever the header says
                    out = inflater.decompress(data, _CHUNK)
                    if not out and not data:
                        break
                produced += len(out)
                self._account(name, info, produced, len(out), member_cap)
                crc = zlib.crc32(out, crc)
                if sink is not None:
                    sink(out)
            if inflater is not None and not inflater.eof:
                raise self._corrupt(f"member {name!r} is truncated (its compressed data ends early)", name)
        except zlib.error as exc:
            raise self._corrupt(f"member {name!r} is damaged ({exc})", name) from exc
        self.compressed += info.compress_size
        if produced != info.file_size:
            raise self._corrupt(f"member {name!r} declares {info.file_size} bytes but holds {produced}", name)
        if crc != info.CRC:
            raise self._corrupt(f"member {name!r} is damaged (its CRC-32 does not match)", name)
        self._check_total_ratio(name)
        return produced

    def _read_raw(self, fp: BinaryIO, pos: int, left: int, name: str) -> bytes:
        fp.seek(pos)
        data = fp.read(min(_CHUNK, left))
        if not data:
            raise self._corrupt(f"member {name!r} is truncated", name)
        return data

    def _account(self, name: str, info: zipfile.ZipInfo, produced: int, new: int, member_cap: int) -> None:
        lim = self.limits
        self.produced += new
        if produced > info.file_size:
            raise self._refuse(f"member {name!r} inflates to more than the {info.file_size} bytes its header "
                               f"declares; this looks like a zip bomb", "declared size", name)
        if produced > member_cap:  # pragma: no cover - file_size > max_member_bytes is refused up front
            raise self._refuse(f"member {name!r} inflates to more than the limit of {lim.max_member_bytes} "
                               f"bytes", "member size", name)
        self._check_ratio(name, produced, info.compress_size)
        if self.produced > lim.max_total_bytes:
            raise self._refuse(f"the archive expands to more than the limit of {lim.max_total_bytes} bytes",
                               "size", name)

    def _check_total_ratio(self, name: str) -> None:
        lim = self.limits
        if self.produced >= lim.ratio_min_bytes and self.produced > lim.max_ratio * max(self.compressed, 1):
            raise self._refuse(f"its members expand {self.produced / max(self.compressed, 1):.0f} times together "
                               f"({self.produced} bytes from {self.compressed}; limit {lim.max_ratio:g}); this "
                               f"looks like a zip bomb", "compression ratio", name)

    def read(self, member: str | zipfile.ZipInfo) -> bytes:
        """The bytes of one member, inflated under the limits."""
        parts: list[bytes] = []
        self._stream(member, parts.append)
        return b"".join(parts)

    def verify(self) -> None:
        """Inflate every member under the limits without keeping the data (raises on the first problem)."""
        for info in self.infos:
            if not info.is_dir():
                self._stream(info, None)

    def close(self) -> None:
        """Close the archive (only if this object opened it)."""
        if self._owns and getattr(self, "zip", None) is not None:
            self.zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_zip(source: str | os.PathLike | bytes | BinaryIO, **kwargs) -> None:
    """Prove an archive harmless before another library opens it: directory checks, then every member inflated.

    Keyword arguments are those of :class:`SafeZip`.

    Examples
    --------
    >>> import io, zipfile
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
    ...     zf.writestr("bomb.txt", b"0" * (8 * 1024 ** 2))
    >>> from recoverystudy.errors import UnsafeArchiveError
    >>> try:
    ...     check_zip(buf.getvalue(), label="bomb.zip")
    ... except UnsafeArchiveError as err:
    ...     print(err.reason, err.member)
    compression ratio bomb.txt
    """
    with SafeZip(source, **kwargs) as archive:
        archive.verify()
