/**
 * JSON Schema (2020-12, as OpenAPI 3.1 uses it) of the contract's zod schemas, through zod's public
 * `toJSONSchema`. Named schemas (`.meta({ id })`) are collected into one components map and referenced there.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown> & {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  example?: unknown;
  anyOf?: JsonSchema[];
};

const COMPONENTS = '#/components/schemas/';

/** Turns zod schemas into JSON Schema, gathering every named schema they use into `components`. */
export class SchemaSet {
  readonly components: Record<string, JsonSchema> = {};

  of(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const { $schema: _dialect, $defs, ...root } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    for (const [name, definition] of Object.entries($defs ?? {})) this.components[name] = relink(definition);
    return relink(root);
  }
}

function relink(schema: JsonSchema): JsonSchema {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', `"${COMPONENTS}`)) as JsonSchema;
}

/** The input's JSON Schema as the REST adapter reads it: which fields are integers, numbers or booleans. */
export function inputSchema(schema: z.ZodType): JsonSchema {
  return new SchemaSet().of(schema, 'input');
}

/** The JSON type of a property, seen through `anyOf [T, null]`. */
export function typeOf(property: JsonSchema | undefined): string | undefined {
  return property?.type ?? property?.anyOf?.find((option) => option.type !== 'null')?.type;
}
