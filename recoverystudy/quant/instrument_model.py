"""What an instrument is: :class:`Instrument`, its :class:`Scale` and :class:`Item` objects, key provenance.

Every key an instrument carries has its own :class:`KeyProvenance`.

They are built and validated by :func:`~recoverystudy.quant.instruments.load_instrument` from the YAML files
described in ``docs/instrument-schema.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["KeyProvenance", "Item", "Scale", "Instrument", "STATUSES"]

#: Provenance statuses, strongest first. ``user-supplied`` and ``synthetic`` come from key files.
STATUSES = ("established", "user-supplied", "derived-from-wording", "synthetic", "unestablished")
_SCORABLE = {"established", "user-supplied", "derived-from-wording", "synthetic"}


# ----------------------------------------------------------------------------------------------
# dataclasses
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyProvenance:
    """Where one key comes from.

    Attributes
    ----------
    status : str
        One of :data:`STATUSES`.
    source : str
        Citation (``established``), reasoning (``derived-from-wording``), the reason it is not
        established, or the key file and the label its author gave it.
    """

    status: str
    source: str

    @property
    def scorable(self) -> bool:
        """True unless the key is ``unestablished``."""
        return self.status in _SCORABLE

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "source": self.source}


@dataclass(frozen=True)
class Item:
    """One questionnaire item: its column id, its number on the form and a short neutral label."""

    id: str
    number: int
    label: str


@dataclass(frozen=True)
class Scale:
    """A total or subscale: which items, how they are combined, and the minimum answered.

    ``items`` is ``None`` when the item key is not established.  ``min_answered`` is the number of
    answered items needed for a score; ``min_answered_provenance`` says where that rule comes from.
    """

    id: str
    label: str
    items: tuple[str, ...] | None
    method: str
    min_answered: int | None
    provenance: KeyProvenance
    min_answered_provenance: KeyProvenance
    n_items: int | None = None

    @property
    def size(self) -> int | None:
        """Number of items in the scale (known even for some unestablished keys)."""
        return len(self.items) if self.items is not None else self.n_items


@dataclass(frozen=True)
class Instrument:
    """A validated instrument definition.

    Use :func:`load_instrument` rather than building one by hand.

    Examples
    --------
    >>> import recoverystudy as rs
    >>> wai = rs.load_instrument("wai-sr")
    >>> wai.response_min, wai.response_max, len(wai.items)
    (1, 5, 12)
    >>> wai.scales["bond"].items
    ('wai_03', 'wai_05', 'wai_07', 'wai_09')
    """

    id: str
    title: str
    short_title: str
    version: str
    citation: str
    respondent: str
    licence: str
    items: tuple[Item, ...]
    response_min: int
    response_max: int
    response_labels: dict[int, str]
    response_provenance: KeyProvenance
    non_answer: dict[Any, str]
    non_answer_provenance: KeyProvenance
    reverse_keyed: tuple[str, ...] | None
    reverse_provenance: KeyProvenance
    scales: dict[str, Scale]
    notes: tuple[str, ...] = ()
    source_file: str = ""
    key_file: str | None = None
    key_label: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # -- convenience ---------------------------------------------------------------------------
    @property
    def item_ids(self) -> list[str]:
        """Item column ids in form order."""
        return [it.id for it in self.items]

    @property
    def prefix(self) -> str:
        """Column prefix of scores (``"rsa-person"`` -> ``"rsa_person"``)."""
        return self.id.replace("-", "_")

    def column(self, scale: str) -> str:
        """Name of the score column for *scale* (``"es_total"``)."""
        return f"{self.prefix}_{scale}"

    def refusal_reason(self, scale: str) -> str | None:
        """Why *scale* cannot be scored, or ``None`` if it can.

        Examples
        --------
        >>> import recoverystudy as rs
        >>> rs.load_instrument("wai-sr").refusal_reason("bond") is None
        True
        """
        sc = self.scales[scale]
        problems = []
        from_file = f" (the key file {Path(self.key_file).name} does not give it)" if self.key_file else ""
        if sc.items is None or not sc.provenance.scorable:
            problems.append(f"its item key is not established{from_file}")
        # the reverse key is part of every scale's scoring: unknown reversals block every scale
        if self.reverse_keyed is None or not self.reverse_provenance.scorable:
            problems.append("the reverse key is not established" + (
                f" (the key file {Path(self.key_file).name} has no reverse_keyed list; add one, or "
                "reverse_keyed: [] if no item is reversed)" if self.key_file else ""))
        if not problems:
            return None
        return f"{self.short_title} {scale!r}: " + " and ".join(problems) + "."

    def key_hint(self) -> str:
        """The sentence that tells a user how to supply a key for this instrument."""
        return (f"To score it, supply the key from your licensed manual: rs.score(data, {self.id!r}, "
                "key='my-key.yaml') (file format: docs/instrument-schema.md).")

    def scale_provenance(self, scale: str) -> dict[str, Any]:
        """Provenance of every key a scale rests on, and the weakest status among them."""
        sc = self.scales[scale]
        parts = {
            "items": sc.provenance.as_dict(),
            "reverse_keys": self.reverse_provenance.as_dict(),
            "response_range": self.response_provenance.as_dict(),
            "non_answer_codes": self.non_answer_provenance.as_dict(),
            "min_answered": sc.min_answered_provenance.as_dict(),
        }
        scoring_keys = ("items", "reverse_keys", "response_range")
        weakest = max((parts[k]["status"] for k in scoring_keys), key=STATUSES.index)
        return {"status": weakest, "keys": parts, "key_file": self.key_file, "key_label": self.key_label}

    def to_frame(self) -> pd.DataFrame:
        """One row per scale: items, method, minimum answered and key provenance.

        Examples
        --------
        >>> import recoverystudy as rs
        >>> int(rs.load_instrument("wai-sr").to_frame().loc["task", "n_items"])
        4
        """
        rows = []
        for sid, sc in self.scales.items():
            rows.append(
                {
                    "scale": sid,
                    "label": sc.label,
                    "n_items": sc.size,
                    "method": sc.method,
                    "min_answered": sc.min_answered,
                    "key_status": sc.provenance.status,
                    "reverse_key_status": self.reverse_provenance.status,
                    "scorable": self.refusal_reason(sid) is None,
                    "key_source": sc.provenance.source,
                }
            )
        return pd.DataFrame(rows).set_index("scale")

    def summary(self) -> str:
        """A plain-English description of the instrument and what can be scored."""
        lines = [f"{self.title} - {self.version}.", f"{len(self.items)} items, responses "
                 f"{self.response_min}-{self.response_max}; respondent: {self.respondent}."]
        for sid, sc in self.scales.items():
            reason = self.refusal_reason(sid)
            state = "scored" if reason is None else "NOT scored (key not established)"
            lines.append(f"  {sid}: {sc.label}; {state}; key status {sc.provenance.status}.")
        if self.key_file:
            lines.append(f"Key overlaid from {self.key_file} ({self.key_label}).")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from recoverystudy.results import frame_to_html
        import html

        return f"<h4>{html.escape(self.title)}</h4><p>{html.escape(self.version)}</p>" + frame_to_html(
            self.to_frame()
        )
