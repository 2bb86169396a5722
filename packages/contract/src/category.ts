/** Categories: the resource as returned and what a write accepts. */
import { z } from 'zod';
import { atLeastOne, ExpectedVersion, Id, INT32_MAX, name, PathId, text, Timestamp, Version } from './common.js';

export const Category = z
  .object({
    id: Id,
    name: z.string().min(1).max(100).meta({ example: 'Электроника' }),
    description: z.string().max(2000).nullable(),
    product_count: z.number().int().min(0).max(INT32_MAX),
    version: Version,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Category' });
export type Category = z.infer<typeof Category>;

const fields = {
  name: name(100).meta({ example: 'Гаджеты' }),
  description: text(2000).nullable(),
};
/** The fields a write may set; every other field of Category is read-only. */
export const categoryFields = Object.keys(fields) as (keyof typeof fields)[];

export const CategoryCreate = z.strictObject({ name: fields.name, description: fields.description.optional() });
export type CategoryCreate = z.infer<typeof CategoryCreate>;

export const CategoryUpdate = z
  .strictObject({ id: PathId, name: fields.name.optional(), description: fields.description.optional(), expected_version: ExpectedVersion })
  .superRefine(atLeastOne(categoryFields))
  .meta({ minProperties: 1 });
export type CategoryUpdate = z.infer<typeof CategoryUpdate>;

export const CategoryList = z.array(Category);
