"""Codebooks: hierarchical analytical frameworks (theme -> code) kept as YAML data.

The schema is documented in ``docs/codebook-schema.md``.  A codebook file looks like::

    id: care-planning-framework
    kind: framework-codebook
    title: ...
    version: "1.0.0"
    source: ...
    verified: false
    licence: ...
    themes:
      - id: recovery
        name: Understandings of recovery
        colour: "#1B9E77"
        definition: ...
        codes:
          - id: personal_meaning
            name: ...
            definition: ...
            inclusion: ...
            exclusion: ...
            example: ...
            rules: {keywords: ["recovery"], lemmas: ["recover"]}

Every problem raises :class:`~recoverystudy.errors.CodebookError` naming the file and the key path
(``care-planning-framework.yaml: themes[2].codes[0].definition``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recoverystudy._yaml import load_yaml
from recoverystudy.errors import CodebookError

__all__ = ["Code", "Theme", "Codebook", "load_codebook", "list_codebooks", "codebook_from_dict"]

_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_TOP_REQUIRED = ("id", "kind", "title", "version", "source", "verified", "themes")
_TOP_OPTIONAL = ("licence", "notes", "description")
_THEME_KEYS = ("id", "name", "colour", "definition", "codes")
_CODE_REQUIRED = ("id", "name", "definition", "inclusion", "exclusion", "example")
_CODE_OPTIONAL = ("colour", "rules")
_RULE_KEYS = ("keywords", "lemmas")


@dataclass(frozen=True)
class Code:
    """One code of a framework.

    ``path`` is ``"theme/code"``; ``keywords`` are literal phrases (case-insensitive, whole words) and
    ``lemmas`` are words matched by their Snowball stem, both used only for *suggestions*.
    """

    path: str
    theme: str
    name: str
    definition: str
    inclusion: str
    exclusion: str
    example: str
    colour: str | None = None
    keywords: tuple[str, ...] = ()
    lemmas: tuple[str, ...] = ()

    @property
    def rules(self) -> dict[str, list[str]]:
        """The suggestion rules as a plain dict."""
        return {"keywords": list(self.keywords), "lemmas": list(self.lemmas)}


@dataclass(frozen=True)
class Theme:
    """A theme (category) grouping codes."""

    id: str
    name: str
    definition: str
    colour: str | None
    codes: tuple[Code, ...]


@dataclass(frozen=True)
class Codebook:
    """A validated codebook (an analytical framework).

    Examples
    --------
    >>> cb = load_codebook("care-planning-framework")
    >>> len(cb.themes)
    9
    >>> cb.code("risk/risk_assessment").theme
    'risk'
    """

    id: str
    title: str
    version: str
    source: str
    verified: bool
    licence: str | None
    themes: tuple[Theme, ...]
    file: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def codes(self) -> tuple[Code, ...]:
        """All codes, theme by theme."""
        return tuple(c for t in self.themes for c in t.codes)

    def code(self, path: str) -> Code:
        """Return the code at ``"theme/code"``."""
        for c in self.codes:
            if c.path == path:
                return c
        raise KeyError(f"Codebook {self.id!r} has no code {path!r}.")


def _err(file: str, keypath: str, problem: str) -> CodebookError:
    return CodebookError(f"{file}: {keypath}: {problem}", file=file, code_path=keypath)


def _text(obj: dict, key: str, file: str, where: str, *, required: bool = True) -> str:
    val = obj.get(key)
    if val is None:
        if required:
            raise _err(file, f"{where}.{key}" if where else key, "is missing (a non-empty text is required)")
        return ""
    if not isinstance(val, str) or (required and not val.strip()):
        raise _err(file, f"{where}.{key}" if where else key, f"must be non-empty text; got {val!r}")
    return " ".join(val.split())


def _unknown(obj: dict, allowed: tuple, file: str, where: str) -> None:
    extra = sorted(set(obj) - set(allowed))
    if extra:
        raise _err(file, where or "(top level)", f"unknown key(s) {extra}; allowed: {', '.join(allowed)}")


def _phrases(rules: Any, key: str, file: str, where: str) -> tuple[str, ...]:
    val = rules.get(key, [])
    if not isinstance(val, list) or not all(isinstance(v, str) and v.strip() for v in val):
        raise _err(file, f"{where}.rules.{key}", f"must be a list of non-empty strings; got {val!r}")
    return tuple(" ".join(v.lower().split()) for v in val)


def codebook_from_dict(data: Any, *, file: str = "<dict>") -> Codebook:
    """Validate a parsed codebook mapping and build a :class:`Codebook`.

    Examples
    --------
    >>> codebook_from_dict({"id": "x", "kind": "framework-codebook", "title": "T", "version": "1",
    ...     "source": "s", "verified": False, "themes": []})
    Traceback (most recent call last):
    ...
    recoverystudy.errors.CodebookError: <dict>: themes: must be a non-empty list of themes
    """
    if not isinstance(data, dict):
        raise _err(file, "(top level)", "must be a mapping with keys " + ", ".join(_TOP_REQUIRED))
    for key in _TOP_REQUIRED:
        if key not in data:
            raise _err(file, key, "is missing")
    _unknown(data, _TOP_REQUIRED + _TOP_OPTIONAL, file, "")
    if data["kind"] != "framework-codebook":
        raise _err(file, "kind", f"must be 'framework-codebook'; got {data['kind']!r}")
    if not isinstance(data["verified"], bool):
        raise _err(file, "verified", f"must be true or false; got {data['verified']!r}")
    themes_raw = data["themes"]
    if not isinstance(themes_raw, list) or not themes_raw:
        raise _err(file, "themes", "must be a non-empty list of themes")
    themes = []
    seen_themes: set[str] = set()
    for i, t in enumerate(themes_raw):
        where = f"themes[{i}]"
        if not isinstance(t, dict):
            raise _err(file, where, "must be a mapping")
        _unknown(t, _THEME_KEYS, file, where)
        tid = t.get("id")
        if not isinstance(tid, str) or not _SLUG.match(tid):
            raise _err(file, f"{where}.id", f"must be a lower-case identifier (a-z, 0-9, _); got {tid!r}")
        if tid in seen_themes:
            raise _err(file, f"{where}.id", f"theme {tid!r} is defined twice")
        seen_themes.add(tid)
        where = f"themes[{i}] ({tid})"
        colour = t.get("colour")
        if colour is not None and (not isinstance(colour, str) or not _COLOUR.match(colour)):
            raise _err(file, f"{where}.colour", f"must be '#RRGGBB'; got {colour!r}")
        codes_raw = t.get("codes")
        if not isinstance(codes_raw, list) or not codes_raw:
            raise _err(file, f"{where}.codes", "must be a non-empty list of codes")
        codes = []
        seen_codes: set[str] = set()
        for j, c in enumerate(codes_raw):
            cw = f"{where}.codes[{j}]"
            if not isinstance(c, dict):
                raise _err(file, cw, "must be a mapping")
            _unknown(c, _CODE_REQUIRED + _CODE_OPTIONAL, file, cw)
            cid = c.get("id")
            if not isinstance(cid, str) or not _SLUG.match(cid):
                raise _err(file, f"{cw}.id", f"must be a lower-case identifier (a-z, 0-9, _); got {cid!r}")
            if cid in seen_codes:
                raise _err(file, f"{cw}.id", f"code {tid}/{cid} is defined twice")
            seen_codes.add(cid)
            cw = f"{where}.codes[{j}] ({tid}/{cid})"
            ccol = c.get("colour")
            if ccol is not None and (not isinstance(ccol, str) or not _COLOUR.match(ccol)):
                raise _err(file, f"{cw}.colour", f"must be '#RRGGBB'; got {ccol!r}")
            rules = c.get("rules", {}) or {}
            if not isinstance(rules, dict):
                raise _err(file, f"{cw}.rules", "must be a mapping with keywords and/or lemmas")
            _unknown(rules, _RULE_KEYS, file, f"{cw}.rules")
            codes.append(
                Code(
                    path=f"{tid}/{cid}",
                    theme=tid,
                    name=_text(c, "name", file, cw),
                    definition=_text(c, "definition", file, cw),
                    inclusion=_text(c, "inclusion", file, cw),
                    exclusion=_text(c, "exclusion", file, cw),
                    example=_text(c, "example", file, cw),
                    colour=ccol or colour,
                    keywords=_phrases(rules, "keywords", file, cw),
                    lemmas=_phrases(rules, "lemmas", file, cw),
                )
            )
        themes.append(
            Theme(
                id=tid,
                name=_text(t, "name", file, where),
                definition=_text(t, "definition", file, where),
                colour=colour,
                codes=tuple(codes),
            )
        )
    return Codebook(
        id=_text(data, "id", file, ""),
        title=_text(data, "title", file, ""),
        version=str(data["version"]),
        source=_text(data, "source", file, ""),
        verified=data["verified"],
        licence=data.get("licence"),
        themes=tuple(themes),
        file=file,
        metadata={k: data[k] for k in _TOP_OPTIONAL if k in data},
    )


def _bundled() -> dict[str, Any]:
    from recoverystudy._resources import bundled_files

    out = {}
    for name, entry in bundled_files("codebooks").items():
        head = entry.read_text(encoding="utf-8")[:4000]
        if re.search(r"^kind:\s*framework-codebook\s*$", head, re.MULTILINE):
            out[name] = entry
    return out


def load_codebook(name_or_path: str | Path) -> Codebook:
    """Load and validate a codebook: a bundled name or a path to a YAML file.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A bundled codebook (see :func:`list_codebooks`) such as ``"care-planning-framework"``, or a
        ``.yaml`` file of your own written to ``docs/codebook-schema.md``.

    Returns
    -------
    Codebook

    Raises
    ------
    CodebookError
        Unknown name, unreadable YAML, or a schema problem (the message names file and key path).

    Examples
    --------
    >>> cb = load_codebook("care-planning-framework")
    >>> cb.themes[0].name
    'Understandings of recovery'
    """
    import yaml

    bundled = _bundled()
    if isinstance(name_or_path, str) and name_or_path in bundled:
        entry = bundled[name_or_path]
        file, raw = f"{name_or_path}.yaml", entry.read_text(encoding="utf-8")
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise CodebookError(
                f"No bundled codebook called {str(name_or_path)!r} and no file at {path}. Bundled codebooks: "
                + ", ".join(sorted(bundled)) + ".",
                file=str(path), code_path=None,
            )
        file = str(path)
        try:
            raw = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CodebookError(f"{file}: the file is not UTF-8 text.", file=file, code_path=None) from exc
    try:
        data = load_yaml(raw, file=file)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise CodebookError(f"{file}:{where} is not valid YAML ({exc}).", file=file, code_path=None) from exc
    return codebook_from_dict(data, file=file)


def list_codebooks():
    """List the bundled codebooks.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``title``, ``version``, ``n_themes``, ``n_codes``, ``verified``, ``source``.

    Examples
    --------
    >>> "care-planning-framework" in list_codebooks()["name"].tolist()
    True
    """
    import pandas as pd

    rows = []
    for name in _bundled():
        cb = load_codebook(name)
        rows.append(
            {"name": name, "title": cb.title, "version": cb.version, "n_themes": len(cb.themes),
             "n_codes": len(cb.codes), "verified": cb.verified, "source": cb.source}
        )
    return pd.DataFrame(rows, columns=["name", "title", "version", "n_themes", "n_codes", "verified", "source"])
