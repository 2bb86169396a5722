/**
 * Contract v1.3, search by words (`match=words`): every rule of the contract's section, each asked over REST and over
 * tRPC (the same answer both ways), on the seeded catalog plus a few products of the test's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

let server: LiveServer;
const http = (method: string, path: string, body?: unknown) => call(server.base, method, path, body);

interface Page {
  items: { id: number; name: string; price: number; quantity: number; category_id: number | null }[];
  total: number | null;
  total_is_estimate?: boolean;
  skip: number;
  limit: number;
  next_cursor: string | null;
}
type Params = Record<string, string | number | boolean>;

/** The page of a words search over REST and over tRPC, which must agree. Non-ASCII travels percent-encoded. */
async function search(params: Params): Promise<Page> {
  const query = new URLSearchParams(Object.entries({ match: 'words', ...params }).map(([key, value]) => [key, String(value)] as [string, string]));
  const rest = await http('GET', `/products/search?${query.toString()}`);
  expect(rest.status, rest.text).toBe(200);
  const rpc = await http('GET', `/trpc/products.search?input=${encodeURIComponent(JSON.stringify({ match: 'words', ...params }))}`);
  expect(rpc.status, rpc.text).toBe(200);
  expect((rpc.body as { result: { data: Page } }).result.data).toEqual(rest.body);
  return rest.body as Page;
}
const names = async (q: string, params: Params = {}) => (await search({ q, limit: 100, ...params })).items.map((item) => item.name);

/** Posts a product and returns its id. */
async function add(name: string, extra: Record<string, unknown> = {}): Promise<number> {
  const response = await http('POST', '/products', { name, price: 100, quantity: 1, ...extra });
  expect(response.status, response.text).toBe(201);
  return (response.body as { id: number }).id;
}

let ranking: number;

beforeAll(async () => {
  server = await startServer({ seeded: true });
  ranking = ((await http('POST', '/categories', { name: 'Ранжирование' })).body as { id: number }).id;
  await add('Book of Days');
  await add('Стул офисный');
  await add('Холодильник двухкамерный');
  await add('Йогурт клубничный');
  await add('Иогурт тестовый');
});
afterAll(() => server.close());

describe('words: forms, case, ё and diacritics', () => {
  it('finds the issue’s plurals in the seeded catalog, where a substring finds nothing', async () => {
    for (const [q, noun] of [['ноутбуки', 'Ноутбук'], ['смартфоны', 'Смартфон'], ['книги', 'Книга'], ['диваны', 'Диван'], ['футболки', 'Футболка']]) {
      const found = await names(q!);
      expect(found.length, q).toBeGreaterThan(0);
      expect(found.every((name) => name.startsWith(noun!)), `${q}: ${found.join(', ')}`).toBe(true);
      const substring = await http('GET', `/products/search?q=${encodeURIComponent(q!)}`);
      expect((substring.body as Page).total, `substring ${q}`).toBe(0);
    }
    expect(await names('ноутбука')).toHaveLength(3);
    expect(await names('ноутбуком')).toHaveLength(3);
    expect(await names('books')).toEqual(['Book of Days']);
  });

  it('ignores letter case, ё and Latin diacritics, but keeps й apart from и', async () => {
    expect(await names('береза')).toEqual(['Кресло IKEA Poäng, берёза']);
    expect(await names('БЕРЁЗА')).toEqual(['Кресло IKEA Poäng, берёза']);
    expect(await names('poang')).toEqual(['Кресло IKEA Poäng, берёза']);
    // Both match (и and й transliterate alike), but only the name with й matches exactly, so it ranks first though older.
    expect(await names('йогурт')).toEqual(['Йогурт клубничный', 'Иогурт тестовый']);
  });

  it('deletes apostrophes and splits on every other character', async () => {
    expect(await names('levis')).toEqual(['Джинсы Levi’s 501 Original Fit']);
    expect(await names("Levi's")).toEqual(['Джинсы Levi’s 501 Original Fit']);
    expect(await names('шкаф-купе')).toEqual(['Шкаф-купе Шатура Гранд 3-дверный']);
    expect(await names('8/256')).toEqual(['Смартфон Samsung Galaxy A55 8/256 ГБ', 'Ноутбук Apple MacBook Air 13" M3 8/256 ГБ']);
  });
});

describe('words: all of them, any order', () => {
  it('finds a name holding every word, in either order, and no name missing one', async () => {
    expect(await names('lenovo ноутбук')).toEqual(['Ноутбук Lenovo IdeaPad 5 14"']);
    expect(await names('ноутбук lenovo')).toEqual(['Ноутбук Lenovo IdeaPad 5 14"']);
    expect(await names('ноутбук samsung')).toEqual([]);
    // The same name word serves two query words.
    expect(await names('ноутбук ноутбуки lenovo')).toEqual(['Ноутбук Lenovo IdeaPad 5 14"']);
  });
});

describe('words: the other keyboard layout', () => {
  it('tries q switched as a whole, punctuation keys included', async () => {
    expect(await names('yjen,er')).toHaveLength(3);
    expect((await names('yjen,er')).every((name) => name.startsWith('Ноутбук'))).toBe(true);
    expect(await names('фззду')).toEqual(['Смартфон Apple iPhone 15 128 ГБ', 'Ноутбук Apple MacBook Air 13" M3 8/256 ГБ']);
    expect(await names('lenovo yjen,er')).toEqual([]);
    expect(await names('дутщмщ yjen,er')).toEqual(['Ноутбук Lenovo IdeaPad 5 14"']);
  });

  it('refuses a q with no letter or digit in either layout with a 422 at q, REST and tRPC', async () => {
    for (const q of ['!!!', '—', '%*()']) {
      const rest = await http('GET', `/products/search?match=words&q=${encodeURIComponent(q)}`);
      expect(rest.status, q).toBe(422);
      expect(rest.body).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', issues: [{ path: ['q'] }] });
      const rpc = await http('GET', `/trpc/products.search?input=${encodeURIComponent(JSON.stringify({ q, match: 'words' }))}`);
      expect(rpc.status, q).toBe(422);
      expect((rpc.body as { error: { data: { issues: unknown } } }).error.data.issues).toMatchObject([{ path: ['q'] }]);
    }
    // `,` is the letter б on the other layout: a word, which no name holds.
    expect(await names(',')).toEqual(['Книга «Пикник на обочине», А. и Б. Стругацкие']);
    expect((await http('GET', `/products/search?q=${encodeURIComponent('!!!')}`)).status).toBe(200);
  });
});

describe('words: transliteration, typos, prefixes', () => {
  it('compares words in their passport Latin form, both ways', async () => {
    expect(await names('самсунг')).toEqual(['Планшет Samsung Galaxy Tab S9 FE 6/128 ГБ', 'Смартфон Samsung Galaxy A55 8/256 ГБ']);
    expect(await names('леново')).toEqual(['Ноутбук Lenovo IdeaPad 5 14"']);
    expect(await names('noutbuk')).toHaveLength(3);
    expect(await names('shkaf')).toEqual(['Шкаф-купе Шатура Гранд 3-дверный']);
  });

  it('allows one edit in a word of 5–8 letters, two past 8, none under 5; a swap of neighbours is one', async () => {
    expect(await names('нотбук')).toHaveLength(3);
    expect(await names('ноутубк')).toHaveLength(3);
    expect(await names('стол')).toEqual(['Письменный стол Лазурит Марио', 'Стол обеденный Hoff Ванкувер раскладной']);
    expect(await names('стул')).toEqual(['Стул офисный']);
    expect(await names('диваг')).toEqual(['Диван угловой IKEA Friheten']);
    expect(await names('дивгг')).toEqual([]);
    expect(await names('холдилник')).toEqual(['Холодильник двухкамерный']);
    expect(await names('хлдилник')).toEqual([]);
  });

  it('takes the last word of 3 letters or more as the start of a name word', async () => {
    expect(await names('ноутб')).toHaveLength(3);
    expect(await names('apple ноутб')).toEqual(['Ноутбук Apple MacBook Air 13" M3 8/256 ГБ']);
    expect(await names('ноутб apple')).toEqual([]);
    expect(await names('хо')).toEqual([]);
    expect(await names('хол')).toEqual(['Холодильник двухкамерный']);
  });
});

describe('words: order', () => {
  it('ranks equal name, words in order, any order, forms, layout or transliteration, typos; newest first within a rank', async () => {
    const category = { category_id: ranking };
    const typo = await add('Ноутбук Lenvo', category);
    const transliterated = await add('Ноутбук Леново', category);
    const form = await add('Ноутбуки Lenovo', category);
    const anyOrder = await add('Lenovo ноутбук', category);
    const anyOrderNewer = await add('Lenovo X ноутбук', category);
    const inOrder = await add('Ноутбук игровой Lenovo', category);
    const equal = await add('ноутбук LENOVO', category);
    const page = await search({ q: 'Ноутбук Lenovo', category_id: ranking, limit: 100 });
    expect(page.items.map((item) => item.id)).toEqual([equal, inOrder, anyOrderNewer, anyOrder, form, transliterated, typo]);
    // The contract's own example: for ноутбук, Ноутбук Lenovo comes before Ноутбуки игровые.
    const newer = await add('Ноутбуки игровые', category);
    const single = await search({ q: 'ноутбук', category_id: ranking, limit: 100 });
    const order = single.items.map((item) => item.id);
    expect(order.indexOf(newer)).toBeGreaterThan(order.indexOf(inOrder));
    expect(order.slice(-2)).toEqual([newer, form]);
  });

  // Without filters, two letter words are ranked through the names' word pairs: each rank read on its own, the total
  // from the pairs' counts (a name holding both orders counted once).
  it('ranks two words without filters the same way, pages them and counts each name once', async () => {
    const anyOrder = await add('Гномик ксилофон');
    const equal = await add('Ксилофон гномик');
    const inOrder = await add('Ксилофон большой гномик');
    const bothOrders = await add('Гномик ксилофон гномик');
    const anyOrderNewer = await add('Гномик 7 синий ксилофон');
    await add('Ксилофон синий');
    const expected = [equal, bothOrders, inOrder, anyOrderNewer, anyOrder];
    const page = await search({ q: 'ксилофон гномик', limit: 100 });
    expect(page.items.map((item) => item.id)).toEqual(expected);
    expect(page).toMatchObject({ total: 5, total_is_estimate: false });
    expect(await search({ q: 'ксилофон гномик', count: 'exact' })).toMatchObject({ total: 5, total_is_estimate: false });
    const reversed = await search({ q: 'гномик ксилофон', limit: 100 });
    expect(reversed.items.map((item) => item.id)).toEqual([anyOrder, anyOrderNewer, bothOrders, inOrder, equal]);
    const byCursor: number[] = [];
    let cursor: string | null = null;
    do {
      const next: Page = await search({ q: 'ксилофон гномик', limit: 2, ...(cursor ? { cursor } : {}) });
      byCursor.push(...next.items.map((item) => item.id));
      cursor = next.next_cursor;
    } while (cursor);
    expect(byCursor).toEqual(expected);
    expect((await search({ q: 'ксилофон гномик', limit: 2, skip: 3 })).items.map((item) => item.id)).toEqual(expected.slice(3));
    // A later rank (another form) follows the pairs' ranks, and the total counts it too.
    const form = await add('Ксилофоны гномик');
    expect(await search({ q: 'ксилофон гномик', limit: 100 })).toMatchObject({ items: [...expected, form].map((id) => ({ id })), total: 6 });
  });

  it('pages through every rank by cursor and by skip without repeating or dropping a row, and sorts by sort_by when given', async () => {
    const all = await search({ q: 'ноутбук', limit: 100 });
    const byCursor: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await search({ q: 'ноутбук', limit: 2, ...(cursor ? { cursor } : {}) });
      byCursor.push(...page.items.map((item) => item.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(byCursor).toEqual(all.items.map((item) => item.id));
    const bySkip: number[] = [];
    for (let skip = 0; skip < all.items.length; skip += 3) bySkip.push(...(await search({ q: 'ноутбук', limit: 3, skip })).items.map((item) => item.id));
    expect(bySkip).toEqual(byCursor);
    const prices = (await search({ q: 'ноутбук', sort_by: 'price', order: 'asc', limit: 100 })).items.map((item) => item.price);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    expect(prices).toHaveLength(all.items.length);
  });
});

describe('words: lists as usual', () => {
  it('applies the filters, and counts estimated by default, always saying whether the total is an estimate', async () => {
    const inStock = await search({ q: 'ноутбук', in_stock: true, limit: 100 });
    expect(inStock.items.every((item) => item.quantity > 0)).toBe(true);
    const plain = await search({ q: 'смартфоны' });
    expect(plain).toMatchObject({ total: 3, total_is_estimate: false, skip: 0, limit: 20, next_cursor: null });
    expect(await search({ q: 'смартфоны', count: 'none' })).toMatchObject({ total: null, total_is_estimate: false });
    expect(await search({ q: 'смартфоны', count: 'exact' })).toMatchObject({ total: 3, total_is_estimate: false });
    expect(await search({ q: 'ничегонет' })).toMatchObject({ items: [], total: 0, total_is_estimate: false });
    const substring = await http('GET', `/products/search?q=${encodeURIComponent('смартфон')}`);
    expect(substring.body).not.toHaveProperty('total_is_estimate');
  });

  it('estimates a total past 10 000 matches, and counts it exactly when asked', async () => {
    await server.db.sequelize.query(`INSERT INTO products (name, price) SELECT 'Массовый товар ' || g, 1 FROM generate_series(1, 10050) g`);
    const estimated = await search({ q: 'массовый товар', limit: 1 });
    expect(estimated.total_is_estimate).toBe(true);
    expect(estimated.total).toBeGreaterThan(10_000);
    expect(await search({ q: 'массовый товар', limit: 1, count: 'exact' })).toMatchObject({ total: 10_050, total_is_estimate: false });
    const single = await search({ q: 'массовый', limit: 1 });
    expect(single.total_is_estimate).toBe(true);
    expect(single.total).toBeGreaterThan(10_000);
    expect(await search({ q: 'массовый', limit: 1, count: 'exact' })).toMatchObject({ total: 10_050, total_is_estimate: false });
    await server.db.sequelize.query(`DELETE FROM products WHERE name LIKE 'Массовый товар %'`);
    expect(await search({ q: 'массовый', limit: 1 })).toMatchObject({ total: 0, items: [] });
  });
});
