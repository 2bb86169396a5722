// The SDK README's first example as it stands, in the same CommonJS project: the error the README warns of.
import { createCatalogClient } from '@tradeos/client-sdk';

const catalog = createCatalogClient({ url: 'http://127.0.0.1:8000' });
const page = await catalog.products.list.query({ in_stock: true });
console.log(page.total);
