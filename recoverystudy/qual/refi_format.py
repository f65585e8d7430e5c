"""Conventions of recoverystudy's REFI-QDA files, shared by the reader and the writer.

The lowest REFI module: the ``origin`` we write, note-name prefixes, the ``meta`` key for imported
document variables, and the format of a code's ``<Description>`` (:func:`code_description`, read back by
:func:`parse_code_description`).  A description carries the definition followed by labelled sections
(inclusion, exclusion, example, keywords, lemmas, code path) that other programs show as plain text.  When
the text of a field could be mistaken for a section (a definition containing ``"\\n\\nExample: "``, say),
the exact fields are appended once more as JSON, so that reading gives back every field byte for byte.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["ORIGIN", "DESCRIPTION_SECTIONS", "CHART_NOTE_PREFIX", "AUTO_CHART_NOTE_PREFIX", "DOCUMENT_VARIABLES_KEY",
           "EXACT_LABEL", "IMPORTER_GUID", "code_description", "parse_code_description", "generated_note_name"]

#: Prefix of the ``origin`` attribute we write; files carrying it get the recoverystudy-specific reading.
ORIGIN = "recoverystudy"
#: Labels of the sections appended to a code's description (order matters, see :func:`code_description`).
DESCRIPTION_SECTIONS = (("inclusion", "Inclusion"), ("exclusion", "Exclusion"), ("example", "Example"),
                        ("keywords", "Keywords"), ("lemmas", "Lemmas"), ("path", "Code path"))
#: Label of the final section holding the exact fields as JSON when the plain sections would be ambiguous.
EXACT_LABEL = "Fields (exact, recoverystudy)"
CHART_NOTE_PREFIX = "Framework chart: "
#: Prefix of the note name of an automatic (machine-written) chart summary.
AUTO_CHART_NOTE_PREFIX = "Framework chart (automatic summary): "
#: ``meta`` key holding ``{name: GUID}`` of imported document-level variables, so re-exports keep their GUIDs.
DOCUMENT_VARIABLES_KEY = "refi_document_variables"
#: GUID of the user "imported", who stands for creators a file does not name (fixed, so re-imports reuse it).
IMPORTER_GUID = "5E1D0C2B-7A55-5B7E-9C1B-1A2B3C4D5E6F"
_GENERATED_NOTE = re.compile(r"^(Memo|Project memo|Memo on (case|code|document|a segment of) .*)$", re.DOTALL)
_TEXT_FIELDS = ("definition", "inclusion", "exclusion", "example", "path")


def _normal(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: str(fields.get(k) or "") for k in _TEXT_FIELDS}
    out["keywords"] = [str(v) for v in (fields.get("keywords") or ())]
    out["lemmas"] = [str(v) for v in (fields.get("lemmas") or ())]
    return out


def _plain(fields: dict[str, Any]) -> str:
    parts = [fields["definition"]] if fields.get("definition") else []
    for key, label in DESCRIPTION_SECTIONS:
        value = fields.get(key)
        if value:
            parts.append(f"{label}: " + (json.dumps(list(value), ensure_ascii=False)
                                         if key in ("keywords", "lemmas") else str(value)))
    return "\n\n".join(parts)


def code_description(fields: dict[str, Any]) -> str:
    """The ``<Description>`` of a code: the definition, then labelled sections for the other fields.

    Empty sections are left out; keywords and lemmas are JSON lists; ``Code path`` comes after them.  If
    the text could not be split back into the same fields, a last section holds them exactly, as JSON.

    >>> print(code_description({"definition": "Risk talk.", "inclusion": "", "keywords": ["risk"],
    ...                         "path": "risk/risk_discussion"}))
    Risk talk.
    <BLANKLINE>
    Keywords: ["risk"]
    <BLANKLINE>
    Code path: risk/risk_discussion
    """
    text = _plain(fields)
    if _parse_plain(text) != _normal(fields):
        exact = json.dumps(_normal(fields), ensure_ascii=False, sort_keys=True)
        text = (text + "\n\n" if text else "") + f"{EXACT_LABEL}: {exact}"
    return text


def _parse_plain(text: str) -> dict[str, Any]:
    s = "\n\n" + text
    out: dict[str, Any] = {}
    end = len(s)
    for key, label in reversed(DESCRIPTION_SECTIONS):
        i = s.rfind(f"\n\n{label}: ", 0, end)
        if i >= 0:
            out[key] = s[i + len(label) + 4:end]
            end = i
    out["definition"] = s[2:end] if end >= 2 else ""
    for key in ("keywords", "lemmas"):
        try:
            value = json.loads(out.get(key, "[]"))
        except ValueError:
            value = []
        out[key] = [str(v) for v in value] if isinstance(value, list) else []
    return _normal(out)


def parse_code_description(text: str) -> dict[str, Any]:
    """Split a description written by :func:`code_description` into its fields.

    >>> parse_code_description('Risk talk.\\n\\nKeywords: ["risk"]\\n\\nCode path: risk/risk_discussion')["keywords"]
    ['risk']
    >>> tricky = {"definition": 'Being heard.\\n\\nExample: "nobody listened"', "inclusion": "all talk of voice"}
    >>> parse_code_description(code_description(tricky))["inclusion"]
    'all talk of voice'
    """
    marker = f"{EXACT_LABEL}: "
    i = text.rfind(marker)
    if i >= 0 and (i == 0 or text[i - 2:i] == "\n\n"):
        try:
            exact = json.loads(text[i + len(marker):])
        except ValueError:
            exact = None
        if isinstance(exact, dict) and set(exact) == set(_TEXT_FIELDS) | {"keywords", "lemmas"}:
            return _normal(exact)
    out = _parse_plain(text)
    out["path"] = out["path"].strip()
    return out


def generated_note_name(name: str) -> bool:
    """Whether *name* is a note name recoverystudy makes up for an untitled memo (``"Memo on code x"`` ...).

    >>> generated_note_name("Memo on code risk"), generated_note_name("Team decision, May")
    (True, False)
    """
    return bool(_GENERATED_NOTE.match(name))
