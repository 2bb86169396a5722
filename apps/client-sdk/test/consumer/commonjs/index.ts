// A project made with `npm init -y` ("type": "commonjs") under `module: nodenext`: its .ts files compile to
// CommonJS, which has no top-level await, so the SDK README's examples go into an async function.
import { createCatalogClient, isCatalogError, type Product } from '@tradeos/client-sdk';

async function main(): Promise<void> {
  const catalog = createCatalogClient({ url: process.argv[2] ?? 'http://127.0.0.1:8000' });
  const page = await catalog.products.search.query({ q: 'ноутбук', limit: 5 });
  const first: Product | undefined = page.items[0];
  let missing = '';
  try {
    await catalog.products.byId.query({ id: 999_999 });
  } catch (error) {
    if (isCatalogError(error, 'NOT_FOUND')) missing = error.data.code;
    else throw error;
  }
  console.log(JSON.stringify({ module: typeof require === 'function' ? 'commonjs' : 'esm', found: first !== undefined, missing }));
}

void main();
