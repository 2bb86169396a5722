/**
 * JSON Schema (2020-12, as OpenAPI 3.1 uses it) of the contract's zod schemas, through zod's public
 * `toJSONSchema`. Named schemas (`.meta({ id })`) are collected into one components map and referenced there;
 * a discriminated union also gets OpenAPI's `discriminator`.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown> & {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  example?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  $ref?: string;
  discriminator?: { propertyName: string; mapping?: Record<string, string> };
};

const COMPONENTS = '#/components/schemas/';

/** Turns zod schemas into JSON Schema, gathering every named schema they use into `components`. */
export class SchemaSet {
  readonly components: Record<string, JsonSchema> = {};

  of(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const { $schema: _dialect, $defs, ...root } = z.toJSONSchema(schema, { io, unrepresentable: 'any', override: discriminator }) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    for (const [name, definition] of Object.entries($defs ?? {})) this.components[name] = relink(definition);
    const linked = relink(root);
    for (const definition of [linked, ...Object.values(this.components)]) this.map(definition);
    return linked;
  }

  /** Names, for each value of a union's tag, the component it selects: what code generators narrow by. */
  private map(schema: JsonSchema): void {
    const { discriminator, oneOf } = schema;
    if (!discriminator || discriminator.mapping || !oneOf) return;
    const values = (branch: JsonSchema) => {
      const tag = this.components[branch.$ref!.slice(COMPONENTS.length)]!.properties![discriminator.propertyName]!;
      return tag.const === undefined ? tag.enum! : [tag.const];
    };
    discriminator.mapping = Object.fromEntries(oneOf.flatMap((branch) => values(branch).map((value) => [String(value), branch.$ref!])));
  }
}

/**
 * zod writes a discriminated union as a plain `oneOf`; OpenAPI's `discriminator` names the tag, so tools narrow by it.
 * The union's branches are named schemas (`$ref`s), which OpenAPI requires of a discriminated `oneOf`.
 */
const discriminator: NonNullable<Parameters<typeof z.toJSONSchema>[1]>['override'] = ({ zodSchema, jsonSchema }) => {
  if (zodSchema instanceof z.ZodDiscriminatedUnion) jsonSchema.discriminator = { propertyName: zodSchema.def.discriminator };
};

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
