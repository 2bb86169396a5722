// A service in another repository, as it would use the packed SDK: strict TypeScript, no skipLibCheck.
import { createCatalogClient, errorCode, isCatalogError, iterate, type Event, type Product, type ProductPage } from '@tradeos/client-sdk';
import { EventSource } from 'eventsource';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const catalog = createCatalogClient({ url: process.argv[2] ?? 'http://127.0.0.1:8000', EventSource });

const page = await catalog.products.list.query({ sort_by: 'price', order: 'asc', limit: 3 });
const inferred: Equal<typeof page, ProductPage> = true;
const product: Product | undefined = page.items[0];

// @ts-expect-error 'colour' is not one of the contract's sort keys
const refused = await catalog.products.list.query({ sort_by: 'colour' }).catch((error: unknown) => errorCode(error));

let missing = '';
try {
  await catalog.products.byId.query({ id: 2_000_000_000 });
} catch (error) {
  if (isCatalogError(error, 'NOT_FOUND')) missing = `${error.data.httpStatus} ${error.data.code}`;
  else throw error;
}

// Every product, page by page by cursor; a keyed create repeated is the same product.
let walked = 0;
for await (const each of iterate(catalog.products.list, { limit: 10 })) walked += each.id > 0 ? 1 : 0;
const input = { name: 'Потребитель', price: 99_999 };
const created = await catalog.products.create.mutate(input, { context: { idempotencyKey: 'consumer-once' } });
const repeated = await catalog.products.create.mutate(input, { context: { idempotencyKey: 'consumer-once' } });


// The change feed from its start: the seed's first change, as a subscription over Server-Sent Events.
const first = await new Promise<Event>((resolve, reject) => {
  const subscription = catalog.events.onChange.subscribe(
    {},
    {
      onData: ({ data }) => {
        subscription.unsubscribe();
        resolve(data);
      },
      onError: reject,
    },
  );
});
// Narrowed by its type, an event's data is the resource it names: the union survives into the published declarations.
const firstName: string | undefined = first.type === 'category.created' ? first.data.name : undefined;

console.log(JSON.stringify({ inferred, total: page.total, price: product?.price, refused, missing, walked, replayed: repeated.id === created.id, first: first.type, firstName }));
