import type { z } from 'zod';
import { Category, categoryFields } from './category.js';
import { Product, productFields } from './product.js';

const readOnly = (resource: z.ZodObject, writable: readonly string[]) => Object.keys(resource.shape).filter((key) => !writable.includes(key));

/** Fields a response carries but no write may set: naming one in a body is a 422 that says so. */
export const READ_ONLY_FIELDS: ReadonlySet<string> = new Set([...readOnly(Product, productFields), ...readOnly(Category, categoryFields)]);
