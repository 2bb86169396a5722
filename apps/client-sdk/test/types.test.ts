import { describe, expectTypeOf, it } from 'vitest';
import {
  createCatalogClient,
  errorCode,
  isCatalogError,
  type Category,
  type CategoryCreate,
  type CatalogErrorCode,
  type Event,
  type Issue,
  type Product,
  type ProductCreate,
  type ProductListQuery,
  type ProductPage,
  type ProductQuantityChange,
  type ProductUpdate,
  type RouterInputs,
  type RouterOutputs,
} from '../src/index.js';

// Checked by `tsc` (the package's typecheck), not at run time: expectTypeOf is a no-op when the file runs.
const client = createCatalogClient({ url: 'http://127.0.0.1:8000' });

describe('inferred types', () => {
  it('outputs are the contract resources, never any', () => {
    expectTypeOf<Product>().not.toBeAny();
    expectTypeOf<RouterOutputs['products']['byId']>().toEqualTypeOf<Product>();
    expectTypeOf<RouterOutputs['products']['list']>().toEqualTypeOf<ProductPage>();
    expectTypeOf<RouterOutputs['products']['search']>().toEqualTypeOf<ProductPage>();
    expectTypeOf<RouterOutputs['categories']['list']>().toEqualTypeOf<Category[]>();
    expectTypeOf<Product['price']>().toEqualTypeOf<number>();
    expectTypeOf<Product['in_stock']>().toEqualTypeOf<boolean>();
    expectTypeOf<Product['category']>().toEqualTypeOf<{ id: number; name: string } | null>();
    expectTypeOf(client.products.byId.query).returns.resolves.toEqualTypeOf<Product>();
  });

  it('inputs are the contract request types', () => {
    expectTypeOf<RouterInputs['products']['create']>().not.toBeAny();
    expectTypeOf<RouterInputs['products']['create']>().toEqualTypeOf<ProductCreate>();
    expectTypeOf<RouterInputs['products']['update']>().toEqualTypeOf<ProductUpdate>();
    expectTypeOf<RouterInputs['products']['adjustQuantity']>().toEqualTypeOf<ProductQuantityChange>();
    expectTypeOf<RouterInputs['products']['list']>().toEqualTypeOf<ProductListQuery>();
    expectTypeOf<RouterInputs['categories']['create']>().toEqualTypeOf<CategoryCreate>();
    expectTypeOf<ProductListQuery['sort_by']>().toEqualTypeOf<'id' | 'name' | 'price' | 'quantity' | 'created_at' | 'updated_at' | undefined>();
    expectTypeOf(client.products.create.mutate).parameter(0).toEqualTypeOf<ProductCreate>();
  });

  it('rejects wrong inputs at compile time', () => {
    const wrongCalls = () => [
      // @ts-expect-error price is a number, never a string
      client.products.create.mutate({ name: 'Ручка', price: '19.99' }),
      // @ts-expect-error name is required
      client.products.create.mutate({ price: 19.99 }),
      // @ts-expect-error unknown fields are not inputs
      client.products.create.mutate({ name: 'Ручка', price: 19.99, colour: 'red' }),
      // @ts-expect-error in_stock is derived, never written
      client.products.update.mutate({ id: 1, in_stock: true }),
      // @ts-expect-error sort_by is one of the sortable columns
      client.products.list.query({ sort_by: 'sku' }),
      // @ts-expect-error byId needs an id
      client.products.byId.query({}),
    ];
    expectTypeOf(wrongCalls).toBeFunction();
  });

  it('narrows errors to the contract error body', () => {
    const inspect = (error: unknown) => {
      if (isCatalogError(error, 'UNPROCESSABLE_CONTENT')) {
        expectTypeOf(error.data.code).toEqualTypeOf<'UNPROCESSABLE_CONTENT'>();
        expectTypeOf(error.data.httpStatus).toEqualTypeOf<number>();
        expectTypeOf(error.data.issues).toEqualTypeOf<Issue[] | undefined>();
      }
      if (isCatalogError(error)) expectTypeOf(error.data?.message).toEqualTypeOf<string | undefined>();
      // @ts-expect-error not a contract error code
      return isCatalogError(error, 'MISSING');
    };
    expectTypeOf(inspect).toBeFunction();
    expectTypeOf(errorCode).returns.toEqualTypeOf<CatalogErrorCode | undefined>();
    expectTypeOf<CatalogErrorCode>().toExtend<string>();
    expectTypeOf<'NOT_FOUND'>().toExtend<CatalogErrorCode>();
  });

  it('narrows an event by its type: data is the resource it names, null when deleted', () => {
    const read = (event: Event) => {
      // @ts-expect-error before narrowing, data may be null or another resource
      expectTypeOf(event.data.price).toEqualTypeOf<number>();
      if (event.type === 'product.updated') {
        expectTypeOf(event.data.price).toEqualTypeOf<number>();
        expectTypeOf(event.data).toEqualTypeOf<Product>();
        expectTypeOf(event.entity).toEqualTypeOf<'product'>();
      }
      if (event.type === 'product.deleted') expectTypeOf(event.data).toEqualTypeOf<null>();
      if (event.type === 'category.created') expectTypeOf(event.data).toEqualTypeOf<Category>();
      if (event.type === 'category.deleted') expectTypeOf(event.data).toEqualTypeOf<null>();
      if (event.entity === 'product') expectTypeOf(event.data).toEqualTypeOf<Product | null>();
    };
    expectTypeOf(read).toBeFunction();
    expectTypeOf<RouterOutputs['events']['list']['items']>().toEqualTypeOf<Event[]>();
    const follow = () =>
      client.events.onChange.subscribe({}, { onData: ({ data }) => expectTypeOf(data).toEqualTypeOf<Event>() });
    expectTypeOf(follow).toBeFunction();
  });
});
