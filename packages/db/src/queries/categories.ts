/** Category queries through the Category model; writes in a Sequelize transaction, `product_count` derived, never stored. */
import type { CategoryCreate } from '@tradeos/contract';
import { fn, col, literal, type FindOptions, type InferAttributes, type Transaction } from 'sequelize';
import type { Database } from '../connection.js';
import type { Category } from '../models/category.js';

/** A category as the queries return it: the model's attributes and the number of products in it. */
export type CategoryRow = InferAttributes<Category> & { product_count: number };

export type CategoryPatch = Partial<CategoryCreate>;

/** Every attribute plus `product_count`, counted in the same statement. */
function withCount(db: Database): FindOptions<InferAttributes<Category>> {
  const quote = (name: string) => db.sequelize.getQueryInterface().quoteIdentifier(name);
  const count = literal(`(SELECT count(*) FROM products p WHERE p.category_id = ${quote(db.Category.name)}.${quote(db.Category.primaryKeyAttribute)})::int`);
  return { attributes: { include: [[count, 'product_count']] }, raw: true };
}

export async function listCategories(db: Database): Promise<CategoryRow[]> {
  return (await db.Category.findAll({ ...withCount(db), order: [[fn('lower', col('name')), 'ASC'], ['id', 'ASC']] })) as unknown as CategoryRow[];
}

export async function getCategoryById(db: Database, id: number): Promise<CategoryRow | null> {
  return (await db.Category.findByPk(id, withCount(db))) as unknown as CategoryRow | null;
}

async function counted(db: Database, category: Category, transaction: Transaction): Promise<CategoryRow> {
  return { ...category.get({ plain: true }), product_count: await db.Product.count({ where: { category_id: category.id }, transaction }) };
}

export function createCategory(db: Database, fields: CategoryCreate): Promise<CategoryRow> {
  return db.sequelize.transaction(async (transaction) => {
    const category = await db.Category.create(fields, { transaction, returning: true });
    return { ...category.get({ plain: true }), product_count: 0 };
  });
}

/** Sets the given fields; null when the category does not exist. */
export async function updateCategory(db: Database, id: number, patch: CategoryPatch): Promise<CategoryRow | null> {
  if (!Object.values(patch).some((value) => value !== undefined)) return getCategoryById(db, id);
  return db.sequelize.transaction(async (transaction) => {
    const [, [category]] = await db.Category.update(patch, { where: { id }, returning: true, transaction });
    return category ? counted(db, category, transaction) : null;
  });
}

/** False when there was no such category; a category still referenced by products raises the FK error. */
export function deleteCategory(db: Database, id: number): Promise<boolean> {
  return db.sequelize.transaction(async (transaction) => (await db.Category.destroy({ where: { id }, transaction })) > 0);
}
