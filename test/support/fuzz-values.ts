import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
} from 'graphql';

/**
 * Schema-driven input values for fuzzing: for any argument type, values of
 * that type (valid or not, the server decides) mixed with hostile ones and
 * values of every wrong type. Known-good values (ids of a fixture world) are
 * mixed in by argument path, so the fuzz gets past the id checks into the
 * code that stores things.
 */

/** Argument path (`input.conversationId`, `ids`) → known-good values. */
export type Anchors = Record<string, readonly unknown[]>;

/** Strings that have broken servers: SQL and template injection, NUL, lone surrogates, RTL overrides, number-like ids, limits ± 1. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\n\t',
  "'; drop table orders; --",
  "1' or '1'='1",
  '1 or 1=1',
  '1; select pg_sleep(5)',
  '$1',
  '%s%s%s',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\\',
  '"',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\udfff\ud800',
  '\u202e\u202dRTL',
  '\u200f\u05e9\u05dc\u05d5\u05dd',
  '\ufeff',
  '\u2028\u2029',
  'e\u0301\u0301\u0301',
  '😀',
  '👩‍👩‍👧‍👦',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '0',
  '-1',
  '01',
  '1e3',
  ' 1',
  '1 ',
  '0x10',
  '1.5',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '99999999999999999999999999999999',
  'x'.repeat(200),
  'x'.repeat(201),
  'x'.repeat(1001),
  'x'.repeat(2001),
  'x'.repeat(4000),
  'x'.repeat(4001),
  '😀'.repeat(4000),
  '😀'.repeat(4001),
  ' '.repeat(4001),
  'x'.repeat(20_000),
];

const HUGE_NUMBERS = [2 ** 31, -(2 ** 31) - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e20, -1e20, 1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, -0];

const unit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udc00', '\u202e', '\u200f', '\ufeff', "'", '"', '\\', ';', '-', '%') },
);

/** Ordinary text with something inside that PostgreSQL cannot store as sent: NUL, a lone surrogate. */
const unstorable = fc
  .tuple(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff'), fc.string({ unit: 'grapheme', maxLength: 10 }))
  .map(([before, bad, after]) => before + bad + after);

/** Any text: printable, any code point, or a hostile constant. */
export const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit, maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: unstorable },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }).map((s) => `  ${s}  `) },
);

const numberLike: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(...HUGE_NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

function nested(depth: number): unknown {
  let value: unknown[] = [];
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

/**
 * `depth` lists in one another, deeper than anything recursive can walk
 * (JSON.stringify, fast-check's printer): it stays a marker until toJson()
 * and literal() write it out as text.
 */
export class DeepList {
  constructor(readonly depth: number) {}
  toJSON(): string {
    return `@@deep:${this.depth}@@`;
  }
  [fc.toStringMethod](): string {
    return `DeepList(${this.depth})`;
  }
}

/** JSON.stringify, with DeepList markers written out. */
export function toJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/"@@deep:(\d+)@@"/g, (_, depth: string) => '['.repeat(Number(depth)) + ']'.repeat(Number(depth)));
}

/** JSON of any shape (what a hostile client can put in a request), with hostile strings inside. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: fc.dictionary(text, fc.oneof(text, numberLike, fc.boolean(), fc.constant(null)), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.array(fc.oneof(text, numberLike), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(nested(101), new DeepList(5000), { '\u0000': 1 }, { a: '\u0000' }, [[[['deep']]]]) },
);

/**
 * Values that once made the server fail inside (the database refusing them,
 * the stack overflowing), for a value of `type`: every fuzz run tries each of
 * them in an otherwise valid call before anything random.
 */
export function breakers(type: GraphQLInputType): unknown[] {
  const named = getNamedType(type);
  const list = isListType(unwrapNonNull(type));
  const wrap = (value: unknown) => (list ? [value] : value);
  if (named.name === 'JSON') return [{ note: 'a\u0000b' }, { 'key\u0000': 1 }, ['x\ud800'], new DeepList(5000)];
  if (named.name === 'String' || named.name === 'ID') return ['a\u0000b', 'x\ud800', '\udfffy'].map(wrap);
  return [];
}

/** One value for a GraphQL input type: `undefined` means the argument or field is left out. */
export function valueOf(type: GraphQLInputType, path: string, anchors: Anchors): fc.Arbitrary<unknown> {
  const anchored = anchors[path];
  const own = typedValue(type, path, anchors);
  const withAnchors = anchored?.length ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...anchored) }, { weight: 2, arbitrary: own }) : own;
  return fc.oneof(
    { weight: 10, arbitrary: withAnchors },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
    { weight: 1, arbitrary: anyJson },
  );
}

function typedValue(type: GraphQLInputType, path: string, anchors: Anchors): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return typedValue(type.ofType, path, anchors);
  if (isListType(type)) {
    const element = valueOf(type.ofType, path, anchors);
    const anchored = anchors[path] ?? [];
    return fc.oneof(
      { weight: 6, arbitrary: fc.array(element, { maxLength: 5 }) },
      // A single value where a list is expected: GraphQL coerces it to a list of one.
      { weight: 1, arbitrary: element },
      // Past the list bounds (markRead: 500 ids; sendNotification: 10,000 recipients).
      { weight: 1, arbitrary: fc.constantFrom(501, 10_001).map((n) => Array.from({ length: n }, (_, i) => String(anchored[i % Math.max(1, anchored.length)] ?? i + 1))) },
    );
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    const record = fc.tuple(...fields.map((field) => valueOf(field.type, `${path}.${field.name}`, anchors))).map((values) => {
      const object: Record<string, unknown> = {};
      fields.forEach((field, index) => {
        if (values[index] !== undefined) object[field.name] = values[index];
      });
      return object;
    });
    return fc.oneof(
      { weight: 8, arbitrary: record },
      { weight: 1, arbitrary: fc.tuple(record, fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 })).map(([object, extra]) => ({ ...object, [`x${extra}`]: 1 })) },
    );
  }
  if (isEnumType(type)) {
    const names = type.getValues().map((value) => value.name);
    return fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...names) },
      { weight: 1, arbitrary: fc.constantFrom(...names).map((name) => name.toLowerCase()) },
      { weight: 1, arbitrary: fc.oneof(text, numberLike) },
    );
  }
  switch (type.name) {
    case 'ID':
      return fc.oneof(
        { weight: 3, arbitrary: fc.oneof(fc.integer({ min: 1, max: 50 }).map(String), fc.bigInt({ min: 1n, max: 2n ** 70n }).map(String)) },
        { weight: 3, arbitrary: text },
        { weight: 1, arbitrary: numberLike },
        { weight: 1, arbitrary: fc.boolean() },
      );
    case 'String':
      return fc.oneof({ weight: 8, arbitrary: text }, { weight: 1, arbitrary: numberLike }, { weight: 1, arbitrary: fc.boolean() });
    case 'Int':
      return fc.oneof(
        { weight: 6, arbitrary: numberLike },
        { weight: 1, arbitrary: fc.integer().map(String) },
        { weight: 1, arbitrary: fc.boolean() },
      );
    case 'Float':
      return fc.oneof(
        { weight: 4, arbitrary: fc.double({ min: -200, max: 200, noNaN: true }) },
        { weight: 3, arbitrary: numberLike },
        { weight: 1, arbitrary: fc.constantFrom(90, -90, 180, -180, 90.000001, -180.000001) },
        { weight: 1, arbitrary: fc.constantFrom('12.5', 'NaN', 'Infinity', true) },
      );
    case 'Boolean':
      return fc.oneof({ weight: 6, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom('true', 0, 1, 'yes') });
    case 'JSON':
      return anyJson;
    default:
      if (isScalarType(type)) return fc.oneof(text, numberLike);
      throw new Error(`no fuzz values for ${String(type)}`);
  }
}

/**
 * A JS value as a GraphQL literal, for the inline-argument variant of a call.
 * Strings go through JSON.stringify (GraphQL string escapes are JSON's), so a
 * lone surrogate becomes an escape the GraphQL parser refuses, as it should.
 * Object keys that are not GraphQL names make the document unparsable, too.
 */
export function literal(value: unknown, type: GraphQLInputType): string {
  const named = getNamedType(type);
  if (value === null || value === undefined) return 'null';
  if (value instanceof DeepList) return '['.repeat(value.depth) + ']'.repeat(value.depth);
  if (Array.isArray(value)) {
    const element = isListType(unwrapNonNull(type)) ? (unwrapNonNull(type) as { ofType: GraphQLInputType }).ofType : type;
    return `[${value.map((item) => literal(item, element)).join(', ')}]`;
  }
  if (typeof value === 'object') {
    const fields = isInputObjectType(named) ? named.getFields() : {};
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${key}: ${literal(item, fields[key]?.type ?? named)}`)
      .join(', ')}}`;
  }
  if (typeof value === 'string') return isEnumType(named) && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  return String(value);
}

function unwrapNonNull(type: GraphQLInputType): GraphQLInputType {
  return isNonNullType(type) ? type.ofType : type;
}

/** The leaf fields of a field's return type (first level), so a call's answer is small and complete. */
export function selectionOf(field: GraphQLField<unknown, unknown>): string {
  const named = getNamedType(field.type as GraphQLOutputType);
  if (isLeafType(named)) return '';
  if (!isObjectType(named)) return '{ __typename }';
  const leaves = Object.values(named.getFields())
    .filter((child) => isLeafType(getNamedType(child.type)) && child.args.every((arg) => !isNonNullType(arg.type)))
    .map((child) => child.name);
  return `{ __typename ${leaves.join(' ')} }`;
}
