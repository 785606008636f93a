/** Renders JSON-schema types the way docs/protocol.md writes them, for the tests that keep the docs true. */
type Schema = Record<string, any>;

/** `integer`, `string | null`, `"train"`, `integer[]`, `object`, ... */
export function typeOf(s: Schema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return (s.anyOf as Schema[]).map(typeOf).join(' | ');
  if (Array.isArray(s.type)) return (s.type as string[]).map((t) => typeOf({ ...s, type: t })).join(' | ');
  if (s.type === 'array') return `${typeOf(s.items ?? {})}[]`;
  if (s.type === undefined) return 'any';
  return String(s.type);
}

/** Whether a field may be absent from a message (not required, or filled in by its default). */
export function optional(parent: Schema, name: string, field: Schema): boolean {
  return !(parent.required as string[] | undefined)?.includes(name) || field.default !== undefined;
}

/** The fields of an object schema as the docs list them: `name` or `name?`. */
export function fieldNames(s: Schema): string[] {
  return Object.entries((s.properties ?? {}) as Record<string, Schema>).map(([k, v]) => (optional(s, k, v) ? `${k}?` : k));
}
