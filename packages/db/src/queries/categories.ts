/** Category queries: bound parameters only; `product_count` is derived, never stored. */
import type { Database } from '../connection.js';

export interface CategoryRow {
  id: number;
  name: string;
  description: string | null;
  product_count: number;
  created_at: Date;
  updated_at: Date;
}

export interface CategoryFields {
  name: string;
  description: string | null;
}

const SELECT = `
  SELECT c.id, c.name, c.description, c.created_at, c.updated_at,
         (SELECT count(*) FROM products p WHERE p.category_id = c.id)::int AS product_count
  FROM categories c`;

export function listCategories(db: Database): Promise<CategoryRow[]> {
  return db.query<CategoryRow>(`${SELECT} ORDER BY lower(c.name), c.id`);
}

export async function getCategoryById(db: Database, id: number): Promise<CategoryRow | null> {
  const [row] = await db.query<CategoryRow>(`${SELECT} WHERE c.id = $1`, [id]);
  return row ?? null;
}

export async function createCategory(db: Database, fields: Pick<CategoryFields, 'name'> & Partial<CategoryFields>): Promise<CategoryRow> {
  const [row] = await db.query<CategoryRow>(
    `WITH c AS (INSERT INTO categories (name, description) VALUES ($1, $2) RETURNING *)
     SELECT c.*, 0 AS product_count FROM c`,
    [fields.name, fields.description ?? null],
  );
  if (!row) throw new Error('INSERT returned no row');
  return row;
}

/** Sets the given fields; null when the category does not exist. */
export async function updateCategory(db: Database, id: number, patch: Partial<CategoryFields>): Promise<CategoryRow | null> {
  const [row] = await db.query<CategoryRow>(
    `WITH c AS (
       UPDATE categories SET
         name = CASE WHEN $2::boolean THEN $3 ELSE name END,
         description = CASE WHEN $4::boolean THEN $5 ELSE description END
       WHERE id = $1 RETURNING *)
     SELECT c.*, (SELECT count(*) FROM products p WHERE p.category_id = c.id)::int AS product_count FROM c`,
    [id, patch.name !== undefined, patch.name ?? null, patch.description !== undefined, patch.description ?? null],
  );
  return row ?? null;
}

/** False when there was no such category; a category still referenced by products raises the FK error. */
export async function deleteCategory(db: Database, id: number): Promise<boolean> {
  return (await db.query('DELETE FROM categories WHERE id = $1 RETURNING id', [id])).length > 0;
}
