import { expect, it } from 'vitest';
import type { Model, ModelStatic } from 'sequelize';
import { useMigratedDatabase } from '../src/fixture.js';
import { Category } from '../src/schema/models/category.js';
import { Product } from '../src/schema/models/product.js';
import { Reservation } from '../src/schema/models/reservation.js';
import { ReservationItem } from '../src/schema/models/reservation-item.js';

const db = useMigratedDatabase();

interface ColumnInfo {
  column_name: string;
  data_type: string;
  is_nullable: 'YES' | 'NO';
}

// Sequelize type key → the information_schema data types a migration may give that attribute.
const compatible: Record<string, string[]> = {
  INTEGER: ['integer'],
  STRING: ['character varying'],
  DECIMAL: ['numeric'],
  DATE: ['timestamp with time zone'],
  BOOLEAN: ['boolean'],
  UUID: ['uuid'],
};

it.each([Category, Product, Reservation, ReservationItem].map((model) => model.name))('model %s matches its migrated table', async (name) => {
  const model = db.sequelize.model(name) as unknown as ModelStatic<Model>;
  const [rows] = await db.sequelize.query(
    `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
    { bind: [model.getTableName()] },
  );
  const columns = new Map((rows as ColumnInfo[]).map((row) => [row.column_name, row]));
  const stored = Object.entries(model.getAttributes())
    .map(([attribute, options]) => ({ attribute, options, type: (options.type as { key: string }).key }))
    .filter(({ type }) => type !== 'VIRTUAL');

  for (const { attribute, options, type } of stored) {
    const column = columns.get(options.field ?? '');
    expect(column, `column for ${name}.${attribute}`).toBeDefined();
    expect(compatible[type], `type of ${name}.${attribute}`).toContain(column?.data_type);
    const nullable = options.allowNull !== false && !options.primaryKey;
    expect(column?.is_nullable, `nullability of ${name}.${attribute}`).toBe(nullable ? 'YES' : 'NO');
  }
  expect([...columns.keys()].sort(), 'every column is mapped by the model').toEqual(stored.map(({ options }) => options.field).sort());
});
