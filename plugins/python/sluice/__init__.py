"""Sluice plugins in Python.

A plugin is a module that defines a filter, a map or a flat-map and ends with
``Plugin, Transformer = sluice.export(...)``; ``componentize-py`` turns it
into a WebAssembly component that the Sluice host runs like any other plugin::

    import sluice

    @sluice.filter
    def keep(row):
        "Keeps the ticks priced above 50."
        return row["price"] is not None and row["price"] > 50

    Plugin, Transformer = sluice.export(keep)

A row is a ``dict`` of column name to value: ``str``, ``float``, ``int``,
``bool``, ``bytes``, ``datetime.datetime`` (timezone UTC) for a timestamp,
a ``dict`` for a struct, ``None`` for null. Typed rows (after ``parse_stock``)
arrive as their columns; a raw record value is parsed as a JSON object (one
that is not an object reads as a row with no fields, as Spark's ``from_json``
reads it as nulls).

Raising :class:`RecordError` makes that record a record error (the host sends
it to the dead-letter topic, drops it or stops, as ``--on-error`` says) and the
batch goes on. Any other exception is a crash, contained as a Rust plugin's
panic is: the host replaces the instance and retries, and the one record that
crashes it becomes a record error carrying the exception. ``print`` and
:func:`log` write to the host's log.
"""

from __future__ import annotations

import builtins
import datetime
import difflib
import json
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host
from wit_world.imports import types as wit

__all__ = [
    "ConfigError",
    "Filter",
    "FlatMap",
    "Map",
    "Option",
    "RecordError",
    "export",
    "filter",
    "flat_map",
    "log",
    "map",
]

Row = dict
"""A row: column name to value."""

SchemaType = Union[str, Sequence[tuple]]
"""A column type: a Spark type name, or a struct as a list of (name, type)."""


class RecordError(Exception):
    """This record cannot be processed; the message says why (name the field)."""


class ConfigError(Exception):
    """The config given to ``init`` is invalid; the message names the key and value."""


@dataclass
class Option:
    """A documented config key: what it does, its value when not given, and
    the type its value is converted to (``float``, ``int``, ``str``, … or any
    function of the string that raises ``ValueError``)."""

    help: str
    default: Optional[str] = None
    type: Callable[[str], Any] = str


_LEVELS = {
    "trace": wit.Level.TRACE,
    "debug": wit.Level.DEBUG,
    "info": wit.Level.INFO,
    "warn": wit.Level.WARN,
    "error": wit.Level.ERROR,
}


def log(message: str, level: str = "info") -> None:
    """Writes a line to the host's log, tagged with the plugin's name.

    ``level`` is one of trace, debug, info, warn, error.
    """
    host.log(_LEVELS[level], str(message))


class _LogStream:
    """``sys.stdout`` / ``sys.stderr`` inside the sandbox: lines go to the host's log."""

    def __init__(self, level: str) -> None:
        self.level = level
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            log(line, self.level)
        return len(text)

    def flush(self) -> None:
        if self.pending:
            log(self.pending, self.level)
            self.pending = ""

    def isatty(self) -> bool:
        return False


# ---------------------------------------------------------------------------
# What a plugin author writes.


class _Transform:
    """What filters, maps and flat-maps share: description, config, schema."""

    #: Documented config keys: name to :class:`Option`. Any other key given
    #: with ``--config NAME.key=value`` is refused, naming the close matches.
    options: Mapping[str, Option] = {}

    #: The output columns, as (name, type) pairs: ``[("ticker", "string"),
    #: ("price", "double")]``. Types are Spark's: string, double, float,
    #: long (bigint), integer (int), boolean, binary, timestamp, or a list
    #: of (name, type) for a struct. ``None``: rows are written as JSON objects.
    schema: Optional[Sequence[tuple]] = None

    #: What the plugin reads: "any" (typed rows, or raw values parsed as JSON
    #: objects), "rows" (typed rows only) or "raw" (the value's ``bytes``).
    accepts: str = "any"

    def init(self, config: dict) -> None:
        """Called once with the config (defaults filled in); raise :class:`ConfigError`."""


class Filter(_Transform):
    """Keeps or drops each row; the rows it keeps go on unchanged."""

    def keep(self, row: Row) -> bool:
        """Whether to keep ``row``."""
        raise NotImplementedError("a Filter defines keep(self, row)")


class Map(_Transform):
    """Turns each row into one new row (a ``dict``), or ``None`` to drop it."""

    def map(self, row: Row) -> Any:
        """The output for ``row``."""
        raise NotImplementedError("a Map defines map(self, row)")


class FlatMap(_Transform):
    """Turns each row into zero, one or many rows (any iterable of ``dict``)."""

    def flat_map(self, row: Row) -> Iterable[Any]:
        """The outputs for ``row``."""
        raise NotImplementedError("a FlatMap defines flat_map(self, row)")


def _of_function(base: type, method: str, function: Optional[Callable], attrs: dict) -> Any:
    """A plugin of class ``base`` whose ``method`` is ``function`` (its
    docstring the description, ``attrs`` its class attributes); without
    ``function``, the decorator that makes one."""
    if function is None:
        return lambda f: _of_function(base, method, f, attrs)
    cls = type(function.__name__, (base,), {"__doc__": function.__doc__ or function.__name__, **attrs})
    plugin = cls()
    setattr(plugin, method, function)
    return plugin


def filter(function: Optional[Callable[[Row], bool]] = None, **attrs: Any):  # noqa: A001 - as Spark names it
    """Makes a :class:`Filter` of a function ``row -> bool``.

    Used bare (``@sluice.filter``) or with class attributes
    (``@sluice.filter(options={...})``); its docstring is the description.
    """
    return _of_function(Filter, "keep", function, attrs)


def map(function: Optional[Callable[[Row], Any]] = None, **attrs: Any):  # noqa: A001 - as Spark names it
    """Makes a :class:`Map` of a function ``row -> dict``; ``schema=`` declares its columns."""
    return _of_function(Map, "map", function, attrs)


def flat_map(function: Optional[Callable[[Row], Iterable[Any]]] = None, **attrs: Any):
    """Makes a :class:`FlatMap` of a function ``row -> iterable of dict``."""
    return _of_function(FlatMap, "flat_map", function, attrs)


# ---------------------------------------------------------------------------
# Schemas: Spark's type names to the contract's.

_TYPES = {
    "string": wit.FieldType.STRING,
    "double": wit.FieldType.DOUBLE,
    "float": wit.FieldType.FLOAT,
    "long": wit.FieldType.LONG,
    "bigint": wit.FieldType.LONG,
    "integer": wit.FieldType.INTEGER,
    "int": wit.FieldType.INTEGER,
    "boolean": wit.FieldType.BOOLEAN,
    "binary": wit.FieldType.BINARY,
    "timestamp": wit.FieldType.TIMESTAMP,
}


def _flatten(columns: Sequence[tuple], parent: Optional[int], out: list) -> None:
    for column in columns:
        if not (isinstance(column, (tuple, list)) and len(column) == 2 and isinstance(column[0], str)):
            raise ConfigError(f"schema: {column!r} is not a (name, type) pair")
        name, ty = column
        if isinstance(ty, (list, tuple)):
            out.append(wit.Field(name, wit.FieldType.STRUCT, True, parent))
            _flatten(ty, len(out) - 1, out)
            continue
        kind = _TYPES.get(str(ty).strip().lower())
        if kind is None:
            raise ConfigError(
                f"schema: column {name!r} has unknown type {ty!r}; use one of "
                f"{', '.join(sorted(_TYPES))}, or a list of (name, type) for a struct"
            )
        out.append(wit.Field(name, kind, True, parent))


# ---------------------------------------------------------------------------
# Columns to rows.

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _bit(bitmap: bytes, i: int) -> bool:
    return bool((bitmap[i >> 3] >> (i & 7)) & 1)


def _column_values(field: wit.Field, column: wit.Column, n: int) -> list:
    values = column.values
    ty = field.ty
    if isinstance(values, wit.Values_Bytes):
        offsets, data = values.value.offsets, values.value.data
        out = [data[offsets[i] : offsets[i + 1]] for i in range(n)]
        if ty == wit.FieldType.STRING:
            out = [b.decode() for b in out]
    elif isinstance(values, wit.Values_Bits):
        bits = values.value
        out = [_bit(bits, i) for i in range(n)]
    elif isinstance(values, wit.Values_Children):
        out = [None] * n
    elif ty == wit.FieldType.TIMESTAMP:
        out = [_EPOCH + datetime.timedelta(microseconds=v) for v in values.value]
    else:
        out = list(values.value)
    if column.valid is not None:
        valid = column.valid
        out = [v if _bit(valid, i) else None for i, v in enumerate(out)]
    return out


def _typed_rows(rows: wit.Rows, n: int) -> list:
    fields = rows.fields
    values = [None] * len(fields)
    # Children follow their struct: fill the leaves first, then each struct.
    for index in range(len(fields) - 1, -1, -1):
        field, column = fields[index], rows.columns[index]
        own = _column_values(field, column, n)
        if field.ty == wit.FieldType.STRUCT:
            children = [(fields[c].name, values[c]) for c in range(index + 1, len(fields)) if fields[c].parent == index]
            names = [name for name, _ in children]
            own = [
                None if column.valid is not None and not _bit(column.valid, i) else dict(zip(names, cells))
                for i, cells in enumerate(zip(*(v for _, v in children)))
            ] if children else [{} for _ in range(n)]
        values[index] = own
    top = [i for i, f in enumerate(fields) if f.parent is None]
    names = [fields[i].name for i in top]
    return [dict(zip(names, cells)) for cells in zip(*(values[i] for i in top))] if top else [{} for _ in range(n)]


def _raw_values(batch: wit.Batch) -> list:
    n = batch.len
    if batch.values is not None:
        return _column_values(wit.Field("value", wit.FieldType.BINARY, True, None), batch.values, n)
    data = batch.data
    return [None if r.value is None else data[r.value.offset : r.value.offset + r.value.len] for r in batch.records]


def _as_row(raw: Optional[bytes]) -> dict:
    """A raw value as a row: a JSON object's fields; anything else (not JSON,
    an array, a null value) has no fields, as Spark's ``from_json`` reads it
    as a row of nulls (``row.get(...)`` is ``None``)."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------------------
# Rows to columns.


def _bitmap(flags: list) -> bytes:
    out = bytearray((len(flags) + 7) // 8)
    for i, flag in enumerate(flags):
        if flag:
            out[i >> 3] |= 1 << (i & 7)
    return bytes(out)


def _wrong(field: wit.Field, value: Any, wanted: str) -> RecordError:
    return RecordError(f"column {field.name!r} is {wanted}, but the plugin gave {type(value).__name__} {value!r}")


def _encoder(field: wit.Field) -> Optional[Callable[[Any], Any]]:
    """The function that checks and encodes a non-null cell of ``field``
    (``None`` for a struct, whose cells are its children's)."""
    ty = field.ty

    def string(value: Any) -> bytes:
        if value.__class__ is not str and not isinstance(value, str):
            raise _wrong(field, value, "a string")
        return value.encode()

    def binary(value: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise _wrong(field, value, "binary")
        return bytes(value)

    def number(value: Any) -> float:
        if value.__class__ is float:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(field, value, "a number")
        return float(value)

    bits = 63 if ty == wit.FieldType.LONG else 31
    low, high = -(1 << bits), 1 << bits

    def integer(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(field, value, "an integer")
        if not low <= value < high:
            raise _wrong(field, value, f"a {bits + 1}-bit integer")
        return value

    def boolean(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _wrong(field, value, "a boolean")
        return value

    def timestamp(value: Any) -> int:
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            delta = value - _EPOCH
            return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _wrong(field, value, "a timestamp (a datetime, or microseconds since the epoch)")

    return {
        wit.FieldType.STRING: string,
        wit.FieldType.BINARY: binary,
        wit.FieldType.DOUBLE: number,
        wit.FieldType.FLOAT: number,
        wit.FieldType.LONG: integer,
        wit.FieldType.INTEGER: integer,
        wit.FieldType.BOOLEAN: boolean,
        wit.FieldType.TIMESTAMP: timestamp,
    }.get(ty)


class _Columns:
    """The typed columns of output rows, built a row at a time."""

    def __init__(self, fields: list) -> None:
        self.fields = fields
        self.cells = [[] for _ in fields]
        self.children = [[c for c in range(len(fields)) if fields[c].parent == i] for i in range(len(fields))]
        top = [i for i, f in enumerate(fields) if f.parent is None]
        # For the top level (None) and each struct: its columns as (index, name, encoder).
        self.plan = {
            parent: [(i, fields[i].name, _encoder(fields[i])) for i in indices]
            for parent, indices in [(None, top), *enumerate(self.children)]
        }
        self.known = {parent: {name for _, name, _ in columns} for parent, columns in self.plan.items()}

    def _cells(self, value: Any, parent: Optional[int], into: list) -> None:
        if value.__class__ is not dict and not isinstance(value, Mapping):
            raise RecordError(f"the plugin gave {type(value).__name__} {value!r} where a row (a dict) was expected")
        known = self.known[parent]
        if not known.issuperset(value):
            extra = [k for k in value if k not in known]
            where = "the schema" if parent is None else f"struct {self.fields[parent].name!r}"
            raise RecordError(
                f"the plugin gave column(s) {', '.join(sorted(repr(k) for k in extra))} that {where} does not declare "
                f"(it has {', '.join(sorted(known))})"
            )
        for i, name, encode in self.plan[parent]:
            cell = value.get(name)
            if cell is None:
                into.append((i, None))
                if encode is None:
                    into.extend((c, None) for c in self._descendants(i))
            elif encode is None:
                into.append((i, True))
                self._cells(cell, i, into)
            else:
                into.append((i, encode(cell)))

    def _descendants(self, i: int) -> list:
        out = []
        for c in self.children[i]:
            out.append(c)
            out.extend(self._descendants(c))
        return out

    def encode(self, value: Mapping) -> list:
        """One row's cells, or :class:`RecordError` if it does not fit the schema."""
        row: list = []
        self._cells(value, None, row)
        return row

    def push(self, row: list) -> None:
        """Adds one row's cells."""
        for i, cell in row:
            self.cells[i].append(cell)

    def rows(self) -> wit.Rows:
        return wit.Rows(self.fields, [_column(f, cells) for f, cells in zip(self.fields, self.cells)])


def _column(field: wit.Field, cells: list) -> wit.Column:
    valid = None if all(c is not None for c in cells) else _bitmap([c is not None for c in cells])
    ty = field.ty
    if ty in (wit.FieldType.STRING, wit.FieldType.BINARY):
        offsets = [0]
        for c in cells:
            offsets.append(offsets[-1] + (0 if c is None else len(c)))
        values = wit.Values_Bytes(wit.ByteValues(offsets, b"".join(c for c in cells if c is not None)))
    elif ty == wit.FieldType.DOUBLE:
        values = wit.Values_F64s([0.0 if c is None else c for c in cells])
    elif ty == wit.FieldType.FLOAT:
        values = wit.Values_F32s([0.0 if c is None else c for c in cells])
    elif ty in (wit.FieldType.LONG, wit.FieldType.TIMESTAMP):
        values = wit.Values_S64s([0 if c is None else c for c in cells])
    elif ty == wit.FieldType.INTEGER:
        values = wit.Values_S32s([0 if c is None else c for c in cells])
    elif ty == wit.FieldType.BOOLEAN:
        values = wit.Values_Bits(_bitmap([bool(c) for c in cells]))
    else:
        values = wit.Values_Children()
    return wit.Column(valid, values)


def _raw(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=True, default=_json_default).encode()
    except (TypeError, ValueError) as e:
        raise RecordError(f"the plugin's output cannot be written as JSON: {e}") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON")


# ---------------------------------------------------------------------------
# The component's exports.


def _frames(error: BaseException) -> list:
    """(file, line, function) of each frame, innermost last. The source lines
    are not read: there is no filesystem in the sandbox."""
    frames = []
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    return frames


def _where(error: BaseException) -> str:
    frames = _frames(error)
    own = [f for f in frames if f[0] != __file__] or frames
    if not own:
        return ""
    file, line, function = own[-1]
    return f" at {file.rsplit('/', 1)[-1]}:{line} in {function}"


def _crash(error: BaseException, during: str) -> None:
    """Logs an unexpected exception before it crashes the instance: the host
    puts the plugin's last error line in the crash's record error."""
    log(f"{type(error).__name__}: {error}{_where(error)} (in {during})", "error")
    stack = "".join(f"\n  {file}:{line} in {function}" for file, line, function in _frames(error))
    log(f"Traceback (most recent call last):{stack}\n{type(error).__name__}: {error}", "debug")


def _no_filesystem(file: Any, *args: Any, **kwargs: Any) -> Any:
    """``open`` inside the sandbox, which has no files (WASI's would trap)."""
    raise PermissionError(f"cannot open {file!r}: a plugin has no filesystem; its config and its records are all it reads")


class _Runner:
    def __init__(self, plugin: _Transform) -> None:
        if isinstance(plugin, type):
            plugin = plugin()
        if not isinstance(plugin, (Filter, Map, FlatMap)):
            raise TypeError("sluice.export takes a sluice.Filter, sluice.Map or sluice.FlatMap (or a function made one)")
        self.plugin = plugin
        self.fields: Optional[list] = None
        self.stdout = _LogStream("info")
        self.stderr = _LogStream("warn")

    def enter(self) -> None:
        sys.stdout, sys.stderr = self.stdout, self.stderr
        builtins.open = _no_filesystem

    def about(self) -> wit.Info:
        plugin = self.plugin
        doc = (type(plugin).__doc__ or "").strip()
        description = doc.split("\n\n", 1)[0].replace("\n", " ") if doc else type(plugin).__name__
        accepts = {"any": wit.Accepts.ANY, "rows": wit.Accepts.ROWS, "raw": wit.Accepts.RAW}[plugin.accepts]
        keys = [wit.ConfigKey(name, o.help, o.default) for name, o in plugin.options.items()]
        return wit.Info(description, keys, accepts, False)

    def init(self, pairs: list) -> None:
        plugin = self.plugin
        config = {name: o.default for name, o in plugin.options.items() if o.default is not None}
        unknown = []
        for key, value in pairs:
            if key in plugin.options:
                config[key] = value
            else:
                unknown.append(key)
        if unknown:
            known = ", ".join(plugin.options) or "none"
            hints = [
                f"{key!r} (did you mean {' or '.join(repr(c) for c in close)}?)" if close else repr(key)
                for key in unknown
                for close in [difflib.get_close_matches(key, list(plugin.options), n=2)]
            ]
            raise Err(wit.Error_BadConfig(f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; known keys: {known}"))
        for key, value in config.items():
            try:
                config[key] = plugin.options[key].type(value)
            except (TypeError, ValueError) as e:
                raise Err(wit.Error_BadConfig(f"config {key}={value!r}: {e}")) from None
        try:
            if plugin.schema is not None:
                fields: list = []
                _flatten(plugin.schema, None, fields)
                self.fields = fields
            plugin.init(config)
        except ConfigError as e:
            raise Err(wit.Error_BadConfig(str(e))) from None
        except Exception as e:  # noqa: BLE001 - a config that makes init fail is a bad config
            raise Err(wit.Error_BadConfig(f"init raised {type(e).__name__}: {e}{_where(e)}")) from None

    def schema(self) -> Optional[list]:
        return self.fields

    def rows(self, batch: wit.Batch) -> list:
        if self.plugin.accepts == "raw":
            return _raw_values(batch)
        if batch.rows is not None:
            return _typed_rows(batch.rows, batch.len)
        if self.plugin.accepts == "rows":
            raise Err(wit.Error_Fatal("this plugin reads typed rows, and was given raw values; put a parser such as parse_stock before it"))
        return [_as_row(raw) for raw in _raw_values(batch)]

    def process(self, batch: wit.Batch) -> wit.Output:
        plugin = self.plugin
        errors: list = []
        rows = self.rows(batch)
        if isinstance(plugin, Filter):
            keep = plugin.keep
            kept = []
            for i, row in enumerate(rows):
                try:
                    if keep(row):
                        kept.append(i)
                except RecordError as e:
                    errors.append(wit.RecordError(i, str(e)))
            return wit.Output(wit.Produced_Selection(kept), errors)
        columns = _Columns(self.fields) if self.fields is not None else None
        raw: list = []
        inputs: list = []
        many = isinstance(plugin, FlatMap)
        call = plugin.flat_map if many else plugin.map
        for i, row in enumerate(rows):
            try:
                result = call(row)
                outputs = ([] if result is None else list(result)) if many else ([] if result is None else [result])
                # A record's outputs are all encoded before any is kept: one
                # that does not fit makes the record an error, with no output.
                encoded = [columns.encode(o) if columns is not None else _raw(o) for o in outputs]
            except RecordError as e:
                errors.append(wit.RecordError(i, str(e)))
                continue
            for cells in encoded:
                if columns is not None:
                    columns.push(cells)
                else:
                    raw.append(cells)
            inputs.extend([i] * len(encoded))
        n = len(inputs)
        if columns is not None:
            out = wit.Batch(n, b"", [], [], None, columns.rows(), inputs)
        else:
            offsets = [0]
            for value in raw:
                offsets.append(offsets[-1] + len(value))
            values = wit.Column(None, wit.Values_Bytes(wit.ByteValues(offsets, b"".join(raw))))
            out = wit.Batch(n, b"", [], [], values, None, inputs)
        return wit.Output(wit.Produced_Batch(out), errors)


def export(plugin: Union[_Transform, type]) -> tuple:
    """The ``Plugin`` and ``Transformer`` classes the component exports.

    End the module with ``Plugin, Transformer = sluice.export(MyPlugin)``
    (a :class:`Filter`, :class:`Map` or :class:`FlatMap` class or instance,
    or a function made one with :func:`filter`, :func:`map`, :func:`flat_map`).
    """
    runner = _Runner(plugin)

    def guarded(during: str, call: Callable) -> Any:
        runner.enter()
        try:
            return call()
        except Err:
            raise
        except BaseException as e:
            _crash(e, during)
            raise

    class Plugin(exports.Plugin):
        def about(self) -> wit.Info:
            return guarded("about", runner.about)

        def init(self, config: list) -> None:
            return guarded("init", lambda: runner.init(config))

        def schema(self) -> Optional[list]:
            return guarded("schema", runner.schema)

    class Transformer(exports.Transformer):
        def process(self, input: wit.Batch) -> wit.Output:
            return guarded("process", lambda: runner.process(input))

    return Plugin, Transformer
