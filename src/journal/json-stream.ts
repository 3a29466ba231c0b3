// Incremental JSON.stringify: yields the text of a value in pieces so a large snapshot can be
// written without blocking the event loop for the whole serialisation. The concatenated pieces
// equal JSON.stringify(value) for plain data (objects, arrays, strings, finite numbers,
// booleans, null, toJSON); "flat" nodes (no object members) go to JSON.stringify whole, which
// keeps the per-piece overhead to one generator step per small object.
//
// One deliberate difference: a typed array (any ArrayBuffer view but DataView, without toJSON -
// a Buffer keeps its toJSON form) is written as a JSON array of its numbers, like the plain
// array Array.from(view) (NaN/±Infinity → null, -0 → 0, BigInt64Array elements as integers),
// in slices of TYPED_SLICE elements; JSON.stringify would write {"0":…,"1":…}. Engine state
// with column-oriented typed arrays thus reads back as plain arrays of the same numbers.

/** Flat arrays longer than this are emitted in slices of this many elements. */
const FLAT_SLICE = 4096;
/** Typed arrays are emitted in pieces of this many elements. */
const TYPED_SLICE = 4096;

type NumberView = ArrayLike<number | bigint> & { subarray(start: number, end: number): NumberView };

function isTypedArray(v: object): v is NumberView {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** The JSON text of typed-array elements [i, j), without brackets. */
function typedSlice(v: NumberView, i: number, j: number): string {
  if (typeof v[i] === 'bigint') {
    let s = '';
    for (let k = i; k < j; k++) s += (k > i ? ',' : '') + String(v[k]);
    return s;
  }
  const s = JSON.stringify(Array.from(v.subarray(i, j) as ArrayLike<number>));
  return s.slice(1, -1);
}

function* walkTyped(v: NumberView): Generator<string, void, undefined> {
  const n = v.length;
  if (n <= TYPED_SLICE) {
    yield `[${typedSlice(v, 0, n)}]`;
    return;
  }
  yield '[';
  for (let i = 0; i < n; i += TYPED_SLICE) yield (i > 0 ? ',' : '') + typedSlice(v, i, Math.min(n, i + TYPED_SLICE));
  yield ']';
}

function isOmitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function resolveToJson(v: unknown, key: string): unknown {
  if (v !== null && typeof v === 'object') {
    const toJson = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJson === 'function') return (toJson as (k: string) => unknown).call(v, key);
  }
  return v;
}

function isFlat(values: unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && typeof v === 'object') return false;
  }
  return true;
}

/** Elements of a non-flat array stringified per JSON.stringify call. */
const SHALLOW_RUN = 512;

/** A primitive, or a plain array/object whose members are all primitives (no toJSON). */
function isShallow(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(v)) return isFlat(v);
  if (isTypedArray(v)) return false;
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== null && typeof x === 'object') return false;
  }
  return true;
}

/** Replaces a typed array's text: the JSON text to write in its place, or undefined for the default. */
export type TypedArrayHook = (v: ArrayBufferView) => string | undefined;

/** `v` has had its toJSON applied already. */
function* walk(v: unknown, typed: TypedArrayHook | undefined): Generator<string, void, undefined> {
  if (v === null || typeof v !== 'object') {
    yield JSON.stringify(v) ?? 'null';
    return;
  }
  if (isTypedArray(v)) {
    const text = typed?.(v as unknown as ArrayBufferView);
    if (text !== undefined) yield text;
    else yield* walkTyped(v);
    return;
  }
  if (Array.isArray(v)) {
    if (isFlat(v)) {
      if (v.length <= FLAT_SLICE) {
        yield JSON.stringify(v);
        return;
      }
      yield '[';
      for (let i = 0; i < v.length; i += FLAT_SLICE) {
        const s = JSON.stringify(v.slice(i, i + FLAT_SLICE));
        yield (i > 0 ? ',' : '') + s.slice(1, -1);
      }
      yield ']';
      return;
    }
    // Runs of shallow elements (e.g. resting orders as tuples) go to JSON.stringify a slice at a
    // time; anything deeper is walked.
    yield '[';
    let i = 0;
    while (i < v.length) {
      let j = i;
      while (j < v.length && j - i < SHALLOW_RUN && isShallow(v[j])) j++;
      if (j > i) {
        const s = JSON.stringify(v.slice(i, j));
        yield (i > 0 ? ',' : '') + s.slice(1, -1);
        i = j;
        continue;
      }
      if (i > 0) yield ',';
      const el = resolveToJson(v[i], String(i));
      if (isOmitted(el)) yield 'null';
      else yield* walk(el, typed);
      i++;
    }
    yield ']';
    return;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  const values = keys.map((k) => obj[k]);
  if (isFlat(values)) {
    yield JSON.stringify(obj);
    return;
  }
  yield '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const el = resolveToJson(values[i], k);
    if (isOmitted(el)) continue;
    yield (first ? '' : ',') + JSON.stringify(k) + ':';
    first = false;
    yield* walk(el, typed);
  }
  yield '}';
}

/**
 * The JSON text of `value` in pieces; join('') === JSON.stringify(value) for JSON-safe data.
 * `typed` may write a typed array some other way (a snapshot stores Float64Arrays as binary).
 */
export function jsonPieces(value: unknown, typed?: TypedArrayHook): Generator<string, void, undefined> {
  const v = resolveToJson(value, '');
  return isOmitted(v) ? (function* () {})() : walk(v, typed);
}
