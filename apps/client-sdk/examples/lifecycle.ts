/**
 * The catalog through the SDK, end to end, against a running server (CATALOG_URL, default
 * http://127.0.0.1:8000): `node --import tsx examples/lifecycle.ts`. Fresh names each run, so it repeats.
 */
import { randomUUID } from 'node:crypto';
import { createCatalogClient, isCatalogError } from '../src/index.js';

const catalog = createCatalogClient({
  url: process.env.CATALOG_URL ?? 'http://127.0.0.1:8000',
  // With API_KEYS set on the server, writes need a key.
  headers: () => (process.env.CATALOG_API_KEY ? { authorization: `Bearer ${process.env.CATALOG_API_KEY}` } : {}),
});
const run = randomUUID().slice(0, 8);

const category = await catalog.categories.create.mutate({ name: `Электроника ${run}`, description: 'Ноутбуки и телефоны' });
console.log(`category ${category.id}: ${category.name}`);

const laptop = await catalog.products.create.mutate({
  name: 'Ноутбук Lenovo IdeaPad 5',
  description: '14", 16 GB RAM',
  price: 74990.5,
  quantity: 12,
  sku: `LEN-IP5-${run}`,
  category_id: category.id,
});
console.log(`product ${laptop.id}: ${laptop.name}, ${laptop.price} ₽, ${laptop.quantity} in stock, in ${laptop.category?.name}`);

const page = await catalog.products.byCategory.query({ category: category.name, limit: 10 });
console.log(`${page.total} product(s) in ${category.name}: ${page.items.map((item) => item.sku).join(', ')}`);

const sold = await catalog.products.adjustQuantity.mutate({ id: laptop.id, delta: -2 });
console.log(`sold 2: ${sold.quantity} left`);

const repriced = await catalog.products.update.mutate({ id: laptop.id, price: 69990 });
console.log(`new price: ${repriced.price} ₽`);

await catalog.products.delete.mutate({ id: laptop.id });
try {
  await catalog.products.byId.query({ id: laptop.id });
} catch (error) {
  if (!isCatalogError(error, 'NOT_FOUND')) throw error;
  console.log(`deleted: byId now answers ${error.data.httpStatus} ${error.data.code} (${error.message})`);
}

await catalog.categories.delete.mutate({ id: category.id });
