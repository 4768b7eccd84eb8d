import { badInput } from '../errors.js';

const NUMERIC_ID = /^[1-9]\d{0,17}$/;

/** Ids of database rows are positive integers sent as strings; anything else is BAD_USER_INPUT. */
export function rowId(value: string, field: string): string {
  if (!NUMERIC_ID.test(value)) throw badInput(field, `"${value.slice(0, 40)}" is not a valid id`);
  return value;
}

/** A string within length bounds (counted in characters, after trimming when asked). */
export function boundedText(value: string, field: string, bounds: { min?: number; max: number; trim?: boolean }): string {
  const text = bounds.trim ? value.trim() : value;
  const length = [...text].length;
  const min = bounds.min ?? 0;
  if (length < min) throw badInput(field, min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
  if (length > bounds.max) throw badInput(field, `must be at most ${bounds.max} characters`);
  return text;
}

/** An optional argument: null when the client left it out or sent null, else `convert(value)`. */
export function optional<T, R>(value: T | null | undefined, convert: (value: T) => R): R | null {
  return value === null || value === undefined ? null : convert(value);
}

/** An optional row id argument (see rowId). */
export function optionalId(value: string | null | undefined, field: string): string | null {
  return optional(value, (id) => rowId(String(id), field));
}
