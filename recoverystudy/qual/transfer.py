"""Copying a whole project between stores (SQLite file <-> PostgreSQL server), row for row.

Every table of the one schema description (:func:`recoverystudy.qual.dialect.table_info`) is copied
in creation order (parents first) with its ids, GUIDs, offsets, coders, times and log entries
unchanged, inside one transaction on the destination, so the copy is whole or absent.
"""

from __future__ import annotations

from recoverystudy.errors import ProjectStoreError
from recoverystudy.qual.dialect import table_info
from recoverystudy.qual.store import MIGRATIONS, SCHEMA_VERSION

__all__ = ["copy_rows", "table_rows"]

_BATCH = 5000


def _quoted(columns) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def table_rows(store, table: str) -> list[tuple]:
    """All rows of *table* in primary-key order, columns in schema order (for copying and comparing)."""
    info = table_info(MIGRATIONS)[table]
    order = ", ".join(f'"{c}"' for c in (info.primary_key or info.columns))
    return [tuple(r) for r in store.conn.execute(f"SELECT {_quoted(info.columns)} FROM {table} ORDER BY {order}")]


def copy_rows(src, dst) -> dict[str, int]:
    """Copy every row of project store *src* into the freshly created store *dst*; return rows per table.

    *dst* must be empty apart from the metadata its creation wrote (which the source's replaces).
    """
    for store in (src, dst):
        if store.schema_version() != SCHEMA_VERSION:
            raise ProjectStoreError(f"{store.path} is at schema {store.schema_version()}, not {SCHEMA_VERSION}; "
                                    f"open it once with this version of recoverystudy to upgrade it.",
                                    file=str(store.path))
    counts = {}
    with dst.transaction() as conn:
        conn.execute("DELETE FROM meta")
        for table, info in table_info(MIGRATIONS).items():
            rows = table_rows(src, table)
            counts[table] = len(rows)
            if not rows:
                continue
            if hasattr(conn, "location"):  # PostgreSQL: COPY is the fast path
                with conn.raw.cursor() as cur, cur.copy(f"COPY {table} ({_quoted(info.columns)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
                if info.identity:
                    conn._follow_sequence(table)
            else:
                marks = ", ".join("?" * len(info.columns))
                sql = f"INSERT INTO {table} ({_quoted(info.columns)}) VALUES ({marks})"
                for i in range(0, len(rows), _BATCH):
                    conn.executemany(sql, rows[i:i + _BATCH])
    return counts
