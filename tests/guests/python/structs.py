"""A Python flat-map whose output has a struct column: price 1 gives two rows (one full,
one of nulls), prices 2-4 give rows that do not fit the schema."""

import datetime
import sluice


@sluice.flat_map(schema=[("t", "string"), ("w", [("start", "timestamp"), ("n", "integer")]), ("ok", "boolean"), ("b", "binary")])
def structs(row):
    """Writes a struct, a boolean and binary cells; gives wrong types on purpose."""
    p = row.get("price")
    if p == 1:
        return [{"t": "a", "w": {"start": datetime.datetime(2026, 11, 25, 12, 0, 0), "n": 3}, "ok": True, "b": b"\x00\x01"}, {"t": "b"}]
    if p == 2:
        return [{"t": 5}]
    if p == 3:
        return [{"t": "x", "extra": 1}]
    if p == 4:
        return [{"w": {"n": 1 << 40}}]
    return []

Plugin, Transformer = sluice.export(structs)
