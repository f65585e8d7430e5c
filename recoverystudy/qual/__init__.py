"""The Framework Method workspace: documents, cases, codebooks, coding, memos and framework matrices.

The public entry points are re-exported at the top level: ``rs.Project``, ``rs.read_document``,
``rs.load_codebook`` and ``rs.list_codebooks``.
"""

from __future__ import annotations

from recoverystudy.qual.codebook import Codebook as Codebook
from recoverystudy.qual.codebook import list_codebooks as list_codebooks
from recoverystudy.qual.codebook import load_codebook as load_codebook
from recoverystudy.qual.documents import DocumentText as DocumentText
from recoverystudy.qual.documents import read_document as read_document
from recoverystudy.qual.project import Project as Project

__all__ = ["Codebook", "DocumentText", "Project", "list_codebooks", "load_codebook", "read_document"]
