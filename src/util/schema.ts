/**
 * TypeBox helpers for the schemas fedman validates with ajv (the wire protocol, the configs). They keep the plain
 * JSON-schema spellings whose ajv errors read well — `type: ['integer', 'null']` rather than an anyOf, `enum`
 * rather than a union of consts — while giving the derived TypeScript types.
 */
import { Type, type Static, type TSchema } from 'typebox';

/** A primitive schema that also admits null (`type: [T, 'null']`). */
export function Nullable<T extends TSchema>(schema: T, options: Record<string, unknown> = {}) {
  const s = schema as unknown as { type: string };
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [s.type, 'null'], ...options });
}

/** A string that is one of `values` (`enum`, so errors list the allowed values). */
export function StringEnum<const V extends readonly string[]>(values: V, options: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}
