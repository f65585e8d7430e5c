"""Instrument definitions kept as data (``instruments/*.yaml``) and user key files.

An :class:`Instrument` is loaded from YAML and validated; every key it carries (response range,
non-answer codes, reverse keys, scale membership, scoring rule, minimum answered) has its own
provenance: ``established`` (with a source), ``derived-from-wording`` (with the reasoning) or
``unestablished``.  A scale whose key is ``unestablished`` is never scored silently.

A user key file (for example transcribed from a licensed manual) is overlaid with
``load_instrument(name, key="my-key.yaml")``; the scales it defines are then marked
``user-supplied`` (or ``synthetic`` for keys invented for synthetic data), with the file recorded.

The file format is documented in ``docs/instrument-schema.md``.
"""

from __future__ import annotations

import math
import os
from dataclasses import field, replace
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from recoverystudy._resources import bundled_files
from recoverystudy._yaml import load_yaml
from recoverystudy.quant.instrument_model import STATUSES, Instrument, Item, KeyProvenance, Scale
from recoverystudy.errors import InstrumentError, InstrumentNotFoundError

__all__ = [
    "KeyProvenance",
    "Item",
    "Scale",
    "Instrument",
    "load_instrument",
    "list_instruments",
    "STATUSES",
]

_METHODS = ("mean", "sum")
_SCHEMA = "recoverystudy-instrument/1"
_KEY_SCHEMA = "recoverystudy-key/1"


# ----------------------------------------------------------------------------------------------
# parsing and validation
# ----------------------------------------------------------------------------------------------
class _Ctx:
    """Carries the file name so every error names the file and the field path."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, path: str, problem: str) -> InstrumentError:
        return InstrumentError(f"{self.file}: {path}: {problem}", file=self.file, field=path)


def _provenance(ctx: _Ctx, raw: Any, path: str, *, allowed=("established", "derived-from-wording", "unestablished")
                ) -> KeyProvenance:
    if not isinstance(raw, dict):
        raise ctx.fail(path, "provenance is required: a mapping with 'status' and 'source' or 'reasoning'.")
    status = raw.get("status")
    if status not in allowed:
        raise ctx.fail(f"{path}.status", f"must be one of {', '.join(allowed)}; got {status!r}.")
    text = raw.get("source") or raw.get("reasoning")
    if not isinstance(text, str) or not text.strip():
        need = "reasoning" if status == "derived-from-wording" else "source"
        raise ctx.fail(path, f"status {status!r} needs a non-empty '{need}' saying where the key comes from.")
    return KeyProvenance(status, text.strip())


def _require(ctx: _Ctx, raw: dict, key: str, kind: type | tuple, path: str = "") -> Any:
    full = f"{path}{key}"
    if key not in raw:
        raise ctx.fail(full, "is required.")
    val = raw[key]
    if not isinstance(val, kind) or isinstance(val, bool) and kind is not bool:
        kinds = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ctx.fail(full, f"must be {kinds}; got {val!r}.")
    return val


def _resolve_items(ctx: _Ctx, raw: Any, path: str, item_ids: list[str], numbers: dict[int, str]) -> tuple | None:
    if raw is None:
        return None
    if raw == "all":
        return tuple(item_ids)
    if not isinstance(raw, list) or not raw:
        raise ctx.fail(path, f"must be 'all', null (key not established) or a non-empty list of item ids; got {raw!r}.")
    out = []
    for i, it in enumerate(raw):
        if isinstance(it, int) and not isinstance(it, bool):
            if it not in numbers:
                raise ctx.fail(f"{path}[{i}]", f"item number {it} is not an item of this instrument "
                                              f"(items are numbered 1-{len(item_ids)}).")
            it = numbers[it]
        if it not in item_ids:
            raise ctx.fail(f"{path}[{i}]", f"unknown item {it!r}; items are {item_ids[0]} ... {item_ids[-1]}.")
        if it in out:
            raise ctx.fail(f"{path}[{i}]", f"item {it!r} is listed twice.")
        out.append(it)
    return tuple(out)


def _parse_scale(ctx: _Ctx, sid: str, raw: Any, item_ids: list[str], numbers: dict[int, str],
                 default_prov=None) -> Scale:
    path = f"scales.{sid}"
    if not isinstance(raw, dict):
        raise ctx.fail(path, "must be a mapping.")
    _no_unknown_fields(ctx, raw, _SCALE_FIELDS, f"{path}.")
    label = raw.get("label", sid)
    items = _resolve_items(ctx, raw.get("items"), f"{path}.items", item_ids, numbers)
    method = raw.get("method", "mean")
    if method not in _METHODS:
        raise ctx.fail(f"{path}.method", f"must be 'mean' or 'sum'; got {method!r}.")
    n_items = raw.get("n_items")
    if n_items is not None and (not isinstance(n_items, int) or n_items < 1):
        raise ctx.fail(f"{path}.n_items", f"must be a positive integer; got {n_items!r}.")
    size = len(items) if items is not None else n_items
    min_ans = raw.get("min_answered")
    if min_ans is not None:
        if isinstance(min_ans, bool) or not isinstance(min_ans, int | float):
            raise ctx.fail(f"{path}.min_answered", f"must be a whole number of items or a proportion; got {min_ans!r}.")
        if isinstance(min_ans, float):
            if not 0 < min_ans <= 1:
                raise ctx.fail(f"{path}.min_answered", f"a proportion must be in (0, 1]; got {min_ans!r}.")
            if size:
                min_ans = math.ceil(min_ans * size - 1e-9)
        if size is not None and not 1 <= min_ans <= size:
            raise ctx.fail(f"{path}.min_answered", f"must be between 1 and the {size} items of the scale; got {min_ans}.")
    elif size:
        min_ans = math.ceil(size / 2)
    if default_prov is not None:
        prov = default_prov
        map_ = default_prov
    else:
        prov = _provenance(ctx, raw.get("provenance"), f"{path}.provenance")
        map_raw = raw.get("min_answered_provenance")
        if map_raw is None:
            map_ = KeyProvenance("unestablished", "package default: the half rule (at least half the items answered).")
        else:
            map_ = _provenance(ctx, map_raw, f"{path}.min_answered_provenance")
    return Scale(sid, str(label), items, method, min_ans, prov, map_, n_items)


_INSTRUMENT_FIELDS = ("schema", "id", "title", "short_title", "version", "citation", "respondent", "licence", "notes",
                      "items", "response", "non_answer", "reverse_keyed", "scales")
_KEY_FIELDS = ("schema", "key_for", "synthetic", "label", "source", "response", "reverse_keyed", "scales")
_SCALE_FIELDS = ("label", "items", "method", "n_items", "min_answered", "min_answered_provenance", "provenance")


def _no_unknown_fields(ctx: _Ctx, raw: dict, allowed: tuple[str, ...], where: str) -> None:
    """A misspelt field (``scalez:``) must not be ignored silently: it would drop what the author meant."""
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        import difflib

        close = difflib.get_close_matches(str(unknown[0]), allowed, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ctx.fail(f"{where}{unknown[0]}", f"unknown field.{hint} Allowed here: {', '.join(allowed)}.")


def _parse_instrument(raw: Any, file: str) -> Instrument:
    ctx = _Ctx(file)
    if not isinstance(raw, dict):
        raise ctx.fail("(top level)", "an instrument file must be a YAML mapping.")
    schema = raw.get("schema", _SCHEMA)
    if schema != _SCHEMA:
        if schema == _KEY_SCHEMA or "key_for" in raw:
            raise ctx.fail("schema", "this is a key file; pass it as key=, e.g. load_instrument(name, key=path).")
        raise ctx.fail("schema", f"must be {_SCHEMA!r}; got {schema!r}.")
    _no_unknown_fields(ctx, raw, _INSTRUMENT_FIELDS, "")
    iid = _require(ctx, raw, "id", str)
    for key in ("title", "version", "citation", "respondent"):
        _require(ctx, raw, key, str)
    items_raw = _require(ctx, raw, "items", list)
    items: list[Item] = []
    seen: set[str] = set()
    for i, it in enumerate(items_raw):
        p = f"items[{i}]"
        if not isinstance(it, dict):
            raise ctx.fail(p, "must be a mapping with id, number and label.")
        iid_ = _require(ctx, it, "id", str, f"{p}.")
        if iid_ in seen:
            raise ctx.fail(f"{p}.id", f"duplicate item id {iid_!r}.")
        seen.add(iid_)
        num = it.get("number", i + 1)
        label = str(it.get("label", iid_))
        if len(label.split()) > 6:
            raise ctx.fail(f"{p}.label", f"labels are at most 6 words (no item wording is bundled); got {label!r}.")
        items.append(Item(iid_, int(num), label))
    if not items:
        raise ctx.fail("items", "at least one item is required.")
    item_ids = [it.id for it in items]
    numbers = {it.number: it.id for it in items}

    resp = _require(ctx, raw, "response", dict)
    rmin = _require(ctx, resp, "min", int, "response.")
    rmax = _require(ctx, resp, "max", int, "response.")
    if rmin >= rmax:
        raise ctx.fail("response", f"min ({rmin}) must be smaller than max ({rmax}).")
    labels = resp.get("labels") or {}
    for code in labels:
        if not isinstance(code, int) or not rmin <= code <= rmax:
            raise ctx.fail("response.labels", f"label code {code!r} is outside the response range {rmin}-{rmax}.")
    rprov = _provenance(ctx, resp.get("provenance"), "response.provenance")

    na = raw.get("non_answer") or {"codes": [], "provenance": {"status": "established", "source": "none declared"}}
    codes: dict[Any, str] = {}
    for i, c in enumerate(na.get("codes") or []):
        code = c.get("code") if isinstance(c, dict) else None
        if code is None or isinstance(code, bool):
            raise ctx.fail(f"non_answer.codes[{i}]", "each non-answer entry needs a 'code' (number or text).")
        if isinstance(code, int | float) and rmin <= code <= rmax:
            raise ctx.fail(f"non_answer.codes[{i}]", f"numeric code {code} lies inside the response range "
                                                     f"{rmin}-{rmax}, so it would be read as an answer.")
        codes[code] = str(c.get("meaning", "not answered"))
    naprov = _provenance(ctx, na.get("provenance"), "non_answer.provenance")

    rev = raw.get("reverse_keyed") or {}
    rev_items = _resolve_items(ctx, rev.get("items"), "reverse_keyed.items", item_ids, numbers) \
        if rev.get("items") else ([] if rev.get("items") == [] else None)
    revprov = _provenance(ctx, rev.get("provenance"), "reverse_keyed.provenance")
    if rev_items is None and revprov.scorable:
        raise ctx.fail("reverse_keyed", "items is null (unknown) but the provenance says the key is "
                                        f"{revprov.status}; use [] for 'no reversed items'.")

    scales_raw = _require(ctx, raw, "scales", dict)
    if not scales_raw:
        raise ctx.fail("scales", "at least one scale is required.")
    scales = {sid: _parse_scale(ctx, str(sid), sraw, item_ids, numbers) for sid, sraw in scales_raw.items()}
    for sid, sc in scales.items():
        if sc.items is None and sc.provenance.scorable:
            raise ctx.fail(f"scales.{sid}.items", f"is null (key unknown) but the provenance says {sc.provenance.status}.")
    return Instrument(
        id=iid, title=raw["title"], short_title=str(raw.get("short_title", iid)), version=str(raw["version"]),
        citation=raw["citation"], respondent=raw["respondent"], licence=str(raw.get("licence", "not stated")),
        items=tuple(items), response_min=rmin, response_max=rmax,
        response_labels={int(k): str(v) for k, v in labels.items()}, response_provenance=rprov,
        non_answer=codes, non_answer_provenance=naprov,
        reverse_keyed=tuple(rev_items) if rev_items is not None else None, reverse_provenance=revprov,
        scales=scales, notes=tuple(str(n) for n in raw.get("notes") or ()), source_file=file,
    )


def _read_yaml(source: Traversable | Path, name: str) -> Any:
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstrumentNotFoundError(f"File not found: {name}", file=name) from None
    except IsADirectoryError:
        raise InstrumentNotFoundError(f"{name} is a folder, not a YAML file.", file=name) from None
    try:
        return load_yaml(text, file=name)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f" line {line}" if line else ""
        raise InstrumentError(f"{name}:{where}: not valid YAML ({getattr(exc, 'problem', exc)}).",
                              file=name, line=line) from None


# ----------------------------------------------------------------------------------------------
# key overlay
# ----------------------------------------------------------------------------------------------
def _apply_key(inst: Instrument, raw: Any, file: str) -> Instrument:
    ctx = _Ctx(file)
    if not isinstance(raw, dict):
        raise ctx.fail("(top level)", "a key file must be a YAML mapping.")
    _no_unknown_fields(ctx, raw, _KEY_FIELDS, "")
    target = raw.get("key_for")
    if target is not None and target != inst.id:
        raise ctx.fail("key_for", f"this key is for {target!r}, not {inst.id!r}.")
    label = raw.get("label") or raw.get("source")
    if not isinstance(label, str) or not label.strip():
        raise ctx.fail("source", "say where the key comes from (for example 'Licensed manual, 2nd ed., table 3').")
    synthetic = bool(raw.get("synthetic", False))
    status = "synthetic" if synthetic else "user-supplied"
    src = f"{'SYNTHETIC key (invented for synthetic data, not the published key)' if synthetic else 'key supplied by the user'}" \
          f" from {file}: {label.strip()}"
    prov = KeyProvenance(status, src)
    item_ids = inst.item_ids
    numbers = {it.number: it.id for it in inst.items}
    changes: dict[str, Any] = {"key_file": file, "key_label": label.strip()}
    if "reverse_keyed" in raw:
        rk = raw["reverse_keyed"]
        rk_items = [] if rk in (None, []) else _resolve_items(ctx, rk, "reverse_keyed", item_ids, numbers)
        changes["reverse_keyed"] = tuple(rk_items)
        changes["reverse_provenance"] = prov
    if "response" in raw:
        r = raw["response"] or {}
        rmin, rmax = r.get("min", inst.response_min), r.get("max", inst.response_max)
        if not (isinstance(rmin, int) and isinstance(rmax, int)) or rmin >= rmax:
            raise ctx.fail("response", f"min must be a whole number smaller than max; got {rmin!r}, {rmax!r}.")
        changes.update(response_min=rmin, response_max=rmax, response_provenance=prov)
    scales = dict(inst.scales)
    for sid, sraw in (raw.get("scales") or {}).items():
        sid = str(sid)
        base = scales.get(sid)
        merged = {"label": base.label if base else sid, "method": base.method if base else "mean"}
        if base is not None and base.n_items:
            merged["n_items"] = base.n_items
        merged.update(sraw or {})
        if merged.get("items") is None:
            raise ctx.fail(f"scales.{sid}.items", "a key must list the scale's items (or 'all').")
        sc = _parse_scale(ctx, sid, merged, item_ids, numbers, default_prov=prov)
        if base is not None and base.n_items and sc.size != base.n_items:
            raise ctx.fail(f"scales.{sid}.items", f"the published scale has {base.n_items} items; this key lists {sc.size}.")
        if "min_answered" not in (sraw or {}):
            sc = replace(sc, min_answered_provenance=KeyProvenance(
                "unestablished", "package default: the half rule (at least half the items answered)."))
        scales[sid] = sc
    changes["scales"] = scales
    return replace(inst, **changes)


# ----------------------------------------------------------------------------------------------
# public functions
# ----------------------------------------------------------------------------------------------
_CACHE: dict[str, Instrument] = {}


def load_instrument(name_or_path: str | os.PathLike | Instrument, *, key: str | os.PathLike | dict | None = None
                    ) -> Instrument:
    """Load and validate an instrument, optionally overlaying a user's key file.

    Parameters
    ----------
    name_or_path : str or path-like
        A bundled instrument id (see :func:`list_instruments`) or the path of a YAML definition.
    key : str, path-like or dict, optional
        A key file (or an already-parsed mapping) from a licensed manual, or a synthetic key. Its
        scales and reverse keys replace the bundled ones and are recorded as ``user-supplied`` (or
        ``synthetic``) with the file name.

    Returns
    -------
    Instrument

    Raises
    ------
    InstrumentNotFoundError
        No bundled instrument of that name and no such file.
    InstrumentError
        The definition or key file is invalid; the message names the file, the field and the problem.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> es = rs.load_instrument("es")
    >>> es.refusal_reason("total") is not None   # the ES reverse key is not established
    True
    >>> key = {"key_for": "es", "source": "my licensed manual", "reverse_keyed": [1, 2],
    ...        "scales": {"total": {"items": "all", "method": "mean"}}}
    >>> rs.load_instrument("es", key=key).scales["total"].provenance.status
    'user-supplied'
    """
    if isinstance(name_or_path, Instrument):
        inst = name_or_path
    else:
        name = os.fspath(name_or_path)
        bundled = bundled_files("instruments")
        if name in _CACHE:
            inst = _CACHE[name]
        elif name in bundled:
            inst = _parse_instrument(_read_yaml(bundled[name], f"instruments/{name}.yaml"), f"{name}.yaml")
            _CACHE[name] = inst
        elif Path(name).suffix.lower() in (".yaml", ".yml") or Path(name).exists():
            path = Path(name)
            if not path.exists():
                raise InstrumentNotFoundError(f"Instrument file not found: {name}", file=name)
            inst = _parse_instrument(_read_yaml(path, str(path)), str(path))
        else:
            raise InstrumentNotFoundError(
                f"No instrument called {name!r}. Bundled instruments: {', '.join(bundled)}; or give the path of a "
                "YAML definition.", name=name)
    if key is None:
        return inst
    if isinstance(key, dict):
        return _apply_key(inst, key, "<key mapping>")
    kpath = Path(os.fspath(key))
    return _apply_key(inst, _read_yaml(kpath, str(kpath)), str(kpath))


def list_instruments() -> pd.DataFrame:
    """List the bundled instruments with what can be scored and the provenance of their keys.

    Returns
    -------
    pandas.DataFrame
        One row per instrument: ``id``, ``title``, ``n_items``, ``response``, ``scales``,
        ``scorable_scales``, ``refused_scales``, ``key_status`` (per scale, ``scale: status``).

    Examples
    --------
    >>> import recoverystudy as rs
    >>> table = rs.list_instruments()
    >>> sorted(table["id"])
    ['es', 'qpr-15', 'rsa-person', 'rsa-provider', 'star-c', 'star-p', 'wai-sr']
    >>> table.set_index("id").loc["wai-sr", "scorable_scales"]
    'total, task, goal, bond'
    """
    rows = []
    for name in bundled_files("instruments"):
        inst = load_instrument(name)
        ok = [s for s in inst.scales if inst.refusal_reason(s) is None]
        refused = [s for s in inst.scales if s not in ok]
        rows.append(
            {
                "id": inst.id,
                "title": inst.title,
                "n_items": len(inst.items),
                "response": f"{inst.response_min}-{inst.response_max}",
                "scales": ", ".join(inst.scales),
                "scorable_scales": ", ".join(ok),
                "refused_scales": ", ".join(refused),
                "key_status": "; ".join(f"{s}: {inst.scale_provenance(s)['status']}" for s in inst.scales),
            }
        )
    return pd.DataFrame(rows)
