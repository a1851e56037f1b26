/**
 * Sluice plugins in JavaScript.
 *
 * A plugin is a module that exports the `plugin` and `transformer` that one of
 * `filter`, `map` or `flatMap` makes; componentize-js turns it into a
 * WebAssembly component that the Sluice host runs like any other plugin:
 *
 *     import * as sluice from './sluice.js';
 *
 *     export const { plugin, transformer } = sluice.filter({
 *       description: 'Keeps the ticks priced above 50.',
 *       keep: (row) => row.price != null && row.price > 50,
 *     });
 *
 * A row is an object of column name to value: a string, a number (a `bigint`
 * for a long beyond 2^53), a boolean, a `Uint8Array` for binary, a `Date` for a
 * timestamp, an object for a struct, `null` for null. Typed rows (after
 * parse_stock) arrive as their columns; a raw record value is parsed as a JSON
 * object (one that is not an object reads as a row with no fields, as Spark's
 * `from_json` reads it as nulls).
 *
 * Throwing a `RecordError` makes that record a record error (the host sends
 * it to the dead-letter topic, drops it or stops, as `--on-error` says) and
 * the batch goes on. Anything else thrown is a crash, contained as a Rust
 * plugin's panic is: the host replaces the instance and retries, and the one
 * record that crashes it becomes a record error carrying the exception.
 * `console.log` and `log()` write to the host's log.
 */

import { log as hostLog } from 'sluice:plugin/host@0.2.0';

/** This record cannot be processed; the message says why (name the field). */
export class RecordError extends Error {
  constructor(message) {
    super(message);
    this.name = 'RecordError';
  }
}

/** The config given to `init` is invalid; the message names the key and value. */
export class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
  }
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** Writes a line to the host's log (level: trace, debug, info, warn, error). */
export function log(message, level = 'info') {
  hostLog(LEVELS.includes(level) ? level : 'info', String(message));
}

// There is no stdout inside the sandbox: the console writes to the host's log.
const text = (args) => args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' ');
globalThis.console = {
  log: (...args) => log(text(args), 'info'),
  info: (...args) => log(text(args), 'info'),
  debug: (...args) => log(text(args), 'debug'),
  warn: (...args) => log(text(args), 'warn'),
  error: (...args) => log(text(args), 'error'),
};

function safeJson(value) {
  try {
    return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return String(value);
  }
}

/**
 * A filter: `spec.keep(row)` says whether to keep each row; kept rows go on
 * unchanged. `spec` may also be the `keep` function alone.
 *
 * The spec's fields, for all three kinds: `description` (one line),
 * `options` ({key: {help, default, type}} with type 'string', 'number',
 * 'integer' or 'boolean'; any other key given is refused), `init(config)`
 * (config with defaults filled in and converted; throw `ConfigError`),
 * `schema` (maps: [[name, type], ...], types as Spark names them: string,
 * double, float, long, integer, boolean, binary, timestamp, or a list of
 * pairs for a struct; without it, outputs are written as JSON) and `accepts`
 * ('any': typed rows or JSON objects; 'rows'; 'raw': the value's bytes).
 * The functions are called with `this` the spec, to keep state in.
 */
export function filter(spec) {
  return exported('keep', typeof spec === 'function' ? { keep: spec } : spec);
}

/** A map: `spec.map(row)` returns one new row (an object), or null to drop it. */
export function map(spec) {
  return exported('map', typeof spec === 'function' ? { map: spec } : spec);
}

/** A flat-map: `spec.flatMap(row)` returns zero, one or many rows (an iterable). */
export function flatMap(spec) {
  return exported('flatMap', typeof spec === 'function' ? { flatMap: spec } : spec);
}

// ---------------------------------------------------------------------------
// Schemas: Spark's type names to the contract's.

const TYPES = {
  string: 'string',
  double: 'double',
  float: 'float',
  long: 'long',
  bigint: 'long',
  integer: 'integer',
  int: 'integer',
  boolean: 'boolean',
  binary: 'binary',
  timestamp: 'timestamp',
};

function flatten(columns, parent, out) {
  for (const column of columns) {
    if (!Array.isArray(column) || column.length !== 2 || typeof column[0] !== 'string') {
      throw new ConfigError(`schema: ${safeJson(column)} is not a [name, type] pair`);
    }
    const [name, ty] = column;
    if (Array.isArray(ty)) {
      out.push({ name, ty: 'struct', nullable: true, parent });
      flatten(ty, out.length - 1, out);
      continue;
    }
    const kind = TYPES[String(ty).trim().toLowerCase()];
    if (kind === undefined) {
      throw new ConfigError(
        `schema: column '${name}' has unknown type '${ty}'; use one of ${Object.keys(TYPES).sort().join(', ')}, or a list of [name, type] for a struct`,
      );
    }
    out.push({ name, ty: kind, nullable: true, parent });
  }
}

// ---------------------------------------------------------------------------
// Columns to rows.

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const bit = (bitmap, i) => ((bitmap[i >> 3] >> (i & 7)) & 1) === 1;

function columnValues(ty, column, n) {
  const { tag, val } = column.values;
  let out;
  if (tag === 'bytes') {
    const { offsets, data } = val;
    out = new Array(n);
    // ASCII text (the common case) is decoded once and sliced: its byte
    // offsets are its character offsets.
    const text = ty === 'string' ? decoder.decode(data) : null;
    const ascii = text !== null && text.length === data.length;
    for (let i = 0; i < n; i++) {
      if (ascii) out[i] = text.slice(offsets[i], offsets[i + 1]);
      else if (text !== null) out[i] = decoder.decode(data.subarray(offsets[i], offsets[i + 1]));
      else out[i] = data.slice(offsets[i], offsets[i + 1]);
    }
  } else if (tag === 'bits') {
    out = Array.from({ length: n }, (_, i) => bit(val, i));
  } else if (tag === 'children') {
    out = new Array(n).fill(null);
  } else if (tag === 's64s') {
    out = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = val[i];
      out[i] =
        ty === 'timestamp'
          ? new Date(Number(v / 1000n))
          : v >= -9007199254740991n && v <= 9007199254740991n
            ? Number(v)
            : v;
    }
  } else {
    out = Array.from(val);
  }
  if (column.valid != null) {
    for (let i = 0; i < n; i++) if (!bit(column.valid, i)) out[i] = null;
  }
  return out;
}

function typedRows(rows, n) {
  const { fields, columns } = rows;
  const values = new Array(fields.length);
  // Children follow their struct: fill the leaves first, then each struct.
  for (let index = fields.length - 1; index >= 0; index--) {
    const field = fields[index];
    let own = columnValues(field.ty, columns[index], n);
    if (field.ty === 'struct') {
      const children = [];
      for (let c = index + 1; c < fields.length; c++) if (fields[c].parent === index) children.push(c);
      own = own.map((_, i) => {
        if (columns[index].valid != null && !bit(columns[index].valid, i)) return null;
        const cell = {};
        for (const c of children) cell[fields[c].name] = values[c][i];
        return cell;
      });
    }
    values[index] = own;
  }
  const top = [];
  fields.forEach((f, i) => f.parent == null && top.push(i));
  const names = top.map((c) => fields[c].name);
  const cells = top.map((c) => values[c]);
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = {};
    for (let k = 0; k < names.length; k++) row[names[k]] = cells[k][i];
    out[i] = row;
  }
  return out;
}

function rawValues(batch) {
  if (batch.values != null) return columnValues('binary', batch.values, batch.len);
  return batch.records.map((r) =>
    r.value == null ? null : batch.data.slice(r.value.offset, r.value.offset + r.value.len),
  );
}

/** A raw value as a row: a JSON object's fields; anything else has none. */
function asRow(raw) {
  if (raw == null) return {};
  try {
    const value = JSON.parse(decoder.decode(raw));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------------------
// Rows to columns.

function bitmap(flags) {
  const out = new Uint8Array((flags.length + 7) >> 3);
  flags.forEach((flag, i) => {
    if (flag) out[i >> 3] |= 1 << (i & 7);
  });
  return out;
}

function wrong(field, value, wanted) {
  return new RecordError(
    `column '${field.name}' is ${wanted}, but the plugin gave ${value === null ? 'null' : typeof value} ${safeJson(value)}`,
  );
}

const LONG = [-(2n ** 63n), 2n ** 63n];

/** The function that checks and encodes a non-null cell of `field` (null for a struct). */
function cellEncoder(field) {
  switch (field.ty) {
    case 'string':
      // Kept as text: the column is encoded at once (see `bytes`).
      return (v) => {
        if (typeof v !== 'string') throw wrong(field, v, 'a string');
        return v;
      };
    case 'binary':
      return (v) => {
        const bytes = asBytes(v);
        if (bytes === null) throw wrong(field, v, 'binary (a Uint8Array)');
        return bytes;
      };
    case 'double':
    case 'float':
      return (v) => {
        if (typeof v !== 'number') throw wrong(field, v, 'a number');
        return v;
      };
    case 'long':
      return (v) => {
        const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : null;
        if (b === null || b < LONG[0] || b >= LONG[1]) throw wrong(field, v, 'a 64-bit integer');
        return b;
      };
    case 'integer':
      return (v) => {
        if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw wrong(field, v, 'a 32-bit integer');
        return v;
      };
    case 'boolean':
      return (v) => {
        if (typeof v !== 'boolean') throw wrong(field, v, 'a boolean');
        return v;
      };
    case 'timestamp':
      return (v) => {
        if (v instanceof Date && !Number.isNaN(v.getTime())) return BigInt(v.getTime()) * 1000n;
        if (typeof v === 'bigint') return v;
        throw wrong(field, v, 'a timestamp (a Date, or microseconds since the epoch as a bigint)');
      };
    default:
      return null;
  }
}

/** The typed columns of output rows, built a row at a time. */
class Columns {
  constructor(fields) {
    this.fields = fields;
    this.cells = fields.map(() => []);
    // For the top level (undefined) and each struct: its columns as
    // [index, name, encoder], and the names it declares.
    const plan = (parent) =>
      fields.flatMap((f, i) => (f.parent === parent ? [[i, f.name, cellEncoder(f)]] : []));
    this.plan = new Map([[undefined, plan(undefined)], ...fields.map((_, i) => [i, plan(i)])]);
    this.known = new Map([...this.plan].map(([parent, p]) => [parent, new Set(p.map(([, name]) => name))]));
  }

  /** Appends `value`'s cells to `into` as index, cell, index, cell, … */
  cellsOf(value, parent, into) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new RecordError(`the plugin gave ${safeJson(value)} where a row (an object) was expected`);
    }
    const known = this.known.get(parent);
    // (A loop over the keys, not Object.keys: no array per row.)
    for (const key in value) {
      if (!known.has(key)) {
        const extra = Object.keys(value).filter((k) => !known.has(k));
        const where = parent === undefined ? 'the schema' : `struct '${this.fields[parent].name}'`;
        throw new RecordError(
          `the plugin gave column(s) ${extra.map((k) => `'${k}'`).join(', ')} that ${where} does not declare (it has ${[...known].sort().join(', ')})`,
        );
      }
    }
    const plan = this.plan.get(parent);
    for (let k = 0; k < plan.length; k++) {
      const step = plan[k];
      const i = step[0];
      const encode = step[2];
      const cell = value[step[1]];
      if (cell == null) {
        into.push(i, null);
        if (encode === null) for (const c of this.descendants(i)) into.push(c, null);
      } else if (encode === null) {
        into.push(i, true);
        this.cellsOf(cell, i, into);
      } else {
        into.push(i, encode(cell));
      }
    }
  }

  descendants(i) {
    return this.plan.get(i).flatMap(([c]) => [c, ...this.descendants(c)]);
  }

  /** One row's cells, or a RecordError if it does not fit the schema. */
  encode(value) {
    const row = [];
    this.cellsOf(value, undefined, row);
    return row;
  }

  push(row) {
    for (let k = 0; k < row.length; k += 2) this.cells[row[k]].push(row[k + 1]);
  }

  rows() {
    return { fields: this.fields, columns: this.fields.map((f, i) => column(f, this.cells[i])) };
  }
}

function column(field, cells) {
  const valid = cells.every((c) => c !== null) ? undefined : bitmap(cells.map((c) => c !== null));
  let values;
  switch (field.ty) {
    case 'string':
    case 'binary':
      values = { tag: 'bytes', val: bytes(cells) };
      break;
    case 'double':
      values = { tag: 'f64s', val: Float64Array.from(cells, (c) => c ?? 0) };
      break;
    case 'float':
      values = { tag: 'f32s', val: Float32Array.from(cells, (c) => c ?? 0) };
      break;
    case 'long':
    case 'timestamp':
      values = { tag: 's64s', val: BigInt64Array.from(cells, (c) => c ?? 0n) };
      break;
    case 'integer':
      values = { tag: 's32s', val: Int32Array.from(cells, (c) => c ?? 0) };
      break;
    case 'boolean':
      values = { tag: 'bits', val: bitmap(cells.map((c) => c === true)) };
      break;
    default:
      values = { tag: 'children' };
  }
  return { valid, values };
}

/** Strings or byte strings as one buffer and the offsets into it (a null is empty). */
function bytes(cells) {
  if (cells.some((c) => typeof c === 'string')) {
    // Text is encoded in one call; when it is ASCII (the common case) its
    // character offsets are its byte offsets.
    const joined = cells.map((c) => c ?? '').join('');
    const data = encoder.encode(joined);
    if (data.length !== joined.length) return bytes(cells.map((c) => (c === null ? null : encoder.encode(c))));
    const offsets = new Uint32Array(cells.length + 1);
    for (let i = 0; i < cells.length; i++) offsets[i + 1] = offsets[i] + (cells[i] === null ? 0 : cells[i].length);
    return { offsets, data };
  }
  const offsets = new Uint32Array(cells.length + 1);
  cells.forEach((c, i) => {
    offsets[i + 1] = offsets[i] + (c === null ? 0 : c.length);
  });
  const data = new Uint8Array(offsets[cells.length]);
  cells.forEach((c, i) => c !== null && data.set(c, offsets[i]));
  return { offsets, data };
}

/** Bytes, from any realm (the bindings' arrays are not this module's `Uint8Array`). */
function asBytes(value) {
  return ArrayBuffer.isView(value) && value.BYTES_PER_ELEMENT === 1
    ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    : null;
}

function raw(value) {
  const bytes = asBytes(value);
  if (bytes !== null) return bytes;
  if (typeof value === 'string') return encoder.encode(value);
  const json = safeJsonOrNull(value);
  if (json === null) throw new RecordError(`the plugin's output cannot be written as JSON: ${String(value)}`);
  return encoder.encode(json);
}

function safeJsonOrNull(value) {
  try {
    return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? Number(v) : v)) ?? null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// The component's exports.

function where(error) {
  const frame = String(error?.stack ?? '')
    .split('\n')
    .find((l) => l.trim() !== '' && !l.includes('sluice.js'));
  return frame ? ` at ${frame.trim()}` : '';
}

/** Logs an unexpected exception before it crashes the instance: the host puts
 * the plugin's last error line in the crash's record error. */
function crash(error, during) {
  const name = error?.name ?? typeof error;
  const message = error?.message ?? String(error);
  log(`${name}: ${message}${where(error)} (in ${during})`, 'error');
}

function badConfig(message) {
  return { tag: 'bad-config', val: message };
}

const CONVERT = {
  string: (v) => v,
  number: (v) => {
    const n = Number(v);
    if (v.trim() === '' || Number.isNaN(n)) throw new Error(`'${v}' is not a number`);
    return n;
  },
  integer: (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || v.trim() === '') throw new Error(`'${v}' is not an integer`);
    return n;
  },
  boolean: (v) => {
    if (v !== 'true' && v !== 'false') throw new Error(`'${v}' is not true or false`);
    return v === 'true';
  },
};

function exported(method, spec) {
  if (typeof spec?.[method] !== 'function') {
    throw new TypeError(`a Sluice ${method === 'keep' ? 'filter' : method} needs a function ${method}(row)`);
  }
  const options = spec.options ?? {};
  const accepts = spec.accepts ?? 'any';
  let fields;

  const guarded = (during, call) => {
    try {
      return call();
    } catch (e) {
      if (e?.tag === 'bad-config' || e?.tag === 'fatal') throw e;
      crash(e, during);
      throw e;
    }
  };

  const plugin = {
    about: () =>
      guarded('about', () => ({
        description: spec.description ?? `a JavaScript ${method === 'keep' ? 'filter' : method}`,
        config: Object.entries(options).map(([name, o]) => ({
          name,
          description: o.help ?? '',
          default: o.default == null ? undefined : String(o.default),
        })),
        accepts,
        readsMetadata: false,
      })),

    init: (pairs) =>
      guarded('init', () => {
        const config = {};
        for (const [name, o] of Object.entries(options)) if (o.default != null) config[name] = String(o.default);
        const unknown = [];
        for (const [key, value] of pairs) {
          if (Object.hasOwn(options, key)) config[key] = value;
          else unknown.push(key);
        }
        if (unknown.length > 0) {
          const known = Object.keys(options).join(', ') || 'none';
          throw badConfig(
            `unknown config key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known keys: ${known}`,
          );
        }
        for (const [key, value] of Object.entries(config)) {
          const convert = CONVERT[options[key].type ?? 'string'];
          if (convert === undefined) throw badConfig(`option ${key}: unknown type '${options[key].type}'`);
          try {
            config[key] = convert(value);
          } catch (e) {
            throw badConfig(`config ${key}='${value}': ${e.message}`);
          }
        }
        try {
          if (spec.schema != null) {
            fields = [];
            flatten(spec.schema, undefined, fields);
          }
          spec.init?.call(spec, config);
        } catch (e) {
          if (e instanceof ConfigError) throw badConfig(e.message);
          throw badConfig(`init threw ${e?.name ?? 'a value'}: ${e?.message ?? String(e)}${where(e)}`);
        }
      }),

    schema: () => guarded('schema', () => fields),
  };

  const rowsOf = (batch) => {
    if (accepts === 'raw') return rawValues(batch);
    if (batch.rows != null) return typedRows(batch.rows, batch.len);
    if (accepts === 'rows') {
      throw {
        tag: 'fatal',
        val: 'this plugin reads typed rows, and was given raw values; put a parser such as parse_stock before it',
      };
    }
    return rawValues(batch).map(asRow);
  };

  const process = (batch) => {
    const errors = [];
    const rows = rowsOf(batch);
    const call = spec[method];
    if (method === 'keep') {
      const kept = [];
      for (let i = 0; i < rows.length; i++) {
        try {
          if (call.call(spec, rows[i])) kept.push(i);
        } catch (e) {
          if (!(e instanceof RecordError)) throw e;
          errors.push({ input: i, message: e.message });
        }
      }
      return { produced: { tag: 'selection', val: kept }, errors };
    }
    const columns = fields === undefined ? null : new Columns(fields);
    const outputs = [];
    const inputs = [];
    for (let i = 0; i < rows.length; i++) {
      let encoded;
      try {
        const result = call.call(spec, rows[i]);
        const many = method === 'flatMap' ? (result == null ? [] : [...result]) : result == null ? [] : [result];
        // A record's outputs are all encoded before any is kept: one that
        // does not fit makes the record an error, with no output.
        encoded = many.map((o) => (columns ? columns.encode(o) : raw(o)));
      } catch (e) {
        if (!(e instanceof RecordError)) throw e;
        errors.push({ input: i, message: e.message });
        continue;
      }
      for (const cells of encoded) {
        if (columns) columns.push(cells);
        else outputs.push(cells);
        inputs.push(i);
      }
    }
    const out = {
      len: inputs.length,
      data: new Uint8Array(),
      headers: [],
      records: [],
      values: columns ? undefined : { valid: undefined, values: { tag: 'bytes', val: bytes(outputs) } },
      rows: columns ? columns.rows() : undefined,
      inputs: Uint32Array.from(inputs),
    };
    return { produced: { tag: 'batch', val: out }, errors };
  };

  return { plugin, transformer: { process: (batch) => guarded('process', () => process(batch)) } };
}
