import { z } from 'zod';
import { atLeastOne, Id, name, text, Timestamp } from './common.js';

export const Category = z
  .object({
    id: Id,
    name: z.string().meta({ example: 'Электроника' }),
    description: z.string().nullable(),
    product_count: z.number().int().min(0),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Category' });
export type Category = z.infer<typeof Category>;

const fields = {
  name: name(100).meta({ example: 'Электроника' }),
  description: text(2000).nullable(),
};

export const CategoryCreate = z.strictObject({ name: fields.name, description: fields.description.optional() });
export type CategoryCreate = z.infer<typeof CategoryCreate>;

export const CategoryUpdate = z
  .strictObject({ id: Id, name: fields.name.optional(), description: fields.description.optional() })
  .superRefine(atLeastOne(['name', 'description']));
export type CategoryUpdate = z.infer<typeof CategoryUpdate>;

export const CategoryList = z.array(Category);
