/** Category queries: reads in raw SQL (a replica may serve them), writes through the model in a Sequelize transaction; `product_count` derived, never stored. */
import type { CategoryCreate } from '@tradeos/contract';
import { cast, col, Op, where as sequelizeWhere, type InferAttributes, type Transaction, type WhereOptions } from 'sequelize';
import type { Database } from '../connection/database.js';
import { versionMismatch } from '../errors.js';
import type { Category } from '../schema/models/category.js';

/** A category as the queries return it: the model's attributes and the number of products in it. */
export type CategoryRow = InferAttributes<Category> & { product_count: number };

export type CategoryPatch = Partial<CategoryCreate>;

// Raw SQL on `db.query`, not the model: the store reads through `db.reader`, whose `query` may be a replica's
// (Sequelize's pool is the primary's). The columns are the model's attributes, named as the model names them.
const COLUMNS = 'c.id, c.name, c.description, c.version, c.created_at, c.updated_at, (SELECT count(*) FROM products p WHERE p.category_id = c.id)::int AS product_count';
const LIST = { name: 'tradeos_categories', text: `SELECT ${COLUMNS} FROM categories c ORDER BY lower(c.name), c.id` };
const BY_ID = { name: 'tradeos_category_by_id', text: `SELECT ${COLUMNS} FROM categories c WHERE c.id = $1` };

export async function listCategories(db: Database, signal?: AbortSignal): Promise<CategoryRow[]> {
  return db.query<CategoryRow>(LIST, [], signal);
}

export async function getCategoryById(db: Database, id: number, signal?: AbortSignal): Promise<CategoryRow | null> {
  const [row] = await db.query<CategoryRow>(BY_ID, [id], signal);
  return row ?? null;
}

async function counted(db: Database, category: Category, transaction: Transaction): Promise<CategoryRow> {
  return { ...category.get({ plain: true }), product_count: await db.Product.count({ where: { category_id: category.id }, transaction }) };
}

/** Creates the category; inside `transaction` when given (an idempotent create), else in one of its own. */
export async function createCategory(db: Database, fields: CategoryCreate, transaction?: Transaction): Promise<CategoryRow> {
  const create = async (transaction: Transaction) => {
    const category = await db.Category.create(fields, { transaction, returning: true });
    return { ...category.get({ plain: true }), product_count: 0 };
  };
  return transaction ? create(transaction) : db.sequelize.transaction(create);
}

/**
 * Contract v1.2: a conditional write names the version in its WHERE, so check and change are one statement. When
 * it changed no row, one read tells a missing category (null) from another version (a `version_mismatch`).
 */
async function afterMiss(db: Database, id: number, expectedVersion: number | undefined, transaction: Transaction): Promise<null> {
  if (expectedVersion === undefined) return null;
  const current = await db.Category.findByPk(id, { attributes: ['version'], raw: true, transaction });
  if (current) throw versionMismatch('Category', id, current.version, expectedVersion);
  return null;
}

/**
 * The row, at `expectedVersion` when given. The version is compared as bigint: one past the column's integer range
 * can never exist and then simply matches nothing (a 412), where a bound integer would fail as out of range.
 */
const where = (id: number, expectedVersion: number | undefined): WhereOptions<InferAttributes<Category>> => ({
  id,
  ...(expectedVersion !== undefined && { [Op.and]: [sequelizeWhere(cast(col('version'), 'bigint'), expectedVersion)] }),
});

/** Sets the given fields; null when the category does not exist; a `version_mismatch` when `expectedVersion` is not current. */
export async function updateCategory(db: Database, id: number, patch: CategoryPatch, expectedVersion?: number): Promise<CategoryRow | null> {
  if (!Object.values(patch).some((value) => value !== undefined)) return getCategoryById(db, id);
  return db.sequelize.transaction(async (transaction) => {
    const [, [category]] = await db.Category.update(patch, { where: where(id, expectedVersion), returning: true, transaction });
    return category ? counted(db, category, transaction) : afterMiss(db, id, expectedVersion, transaction);
  });
}

/** False when there was no such category; a category still referenced by products raises the FK error. */
export function deleteCategory(db: Database, id: number, expectedVersion?: number): Promise<boolean> {
  return db.sequelize.transaction(async (transaction) => {
    if ((await db.Category.destroy({ where: where(id, expectedVersion), transaction })) > 0) return true;
    await afterMiss(db, id, expectedVersion, transaction);
    return false;
  });
}
