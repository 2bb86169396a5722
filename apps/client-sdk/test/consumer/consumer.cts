// The same SDK from CommonJS.
import { createCatalogClient, type Category } from '@tradeos/client-sdk';

async function main(): Promise<void> {
  const catalog = createCatalogClient({ url: process.argv[2] ?? 'http://127.0.0.1:8000' });
  const categories: Category[] = await catalog.categories.list.query({});
  console.log(JSON.stringify({ categories: categories.map((category) => category.name) }));
}

void main();
