"""Month names shared by the date rules of redaction and audit pre-rating."""

from __future__ import annotations

__all__ = ["MONTHS"]

#: lower-case English month names and abbreviations -> month number
MONTHS: dict[str, int] = {
    m: i + 1
    for i, names in enumerate(
        [
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        ]
    )
    for m in names.split()
}
