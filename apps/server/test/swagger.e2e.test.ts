/**
 * The assignment's manual check, automated: Debian's headless Chromium (driven by playwright-core, no browser
 * download) uses Swagger UI's "Try it out" at /docs to create a product and then finds it in the list.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type LiveServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// Without the background-networking flags Chromium phones home, and the closed network refuses it.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = fileURLToPath(new URL('../../../artifacts/swagger-e2e.png', import.meta.url));
const NAME = `E2E ноутбук ${randomUUID().slice(0, 8)}`;

let server: LiveServer | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
let screenshotTaken = false;
const foreignRequests: string[] = [];

async function screenshot(target: Page): Promise<void> {
  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await target.screenshot({ path: SCREENSHOT, fullPage: true });
  screenshotTaken = true;
  console.log(`screenshot: ${SCREENSHOT}`);
}

/** Expands an operation (Swagger UI's id is `operations-<tag>-<operationId>`) and switches it to "Try it out". */
async function tryItOut(target: Page, tag: string, operationId: string): Promise<Locator> {
  const block = target.locator(`#operations-${tag}-${operationId}`);
  await block.locator('.opblock-summary-control').click();
  await block.getByRole('button', { name: 'Try it out' }).click();
  return block;
}

/** Clicks Execute and waits for the live response (not the documented ones) to render. */
async function execute(block: Locator): Promise<{ status: string; body: string }> {
  await block.getByRole('button', { name: 'Execute' }).click();
  const live = block.locator('.live-responses-table .response');
  await live.locator('.response-col_status').waitFor();
  return {
    status: (await live.locator('.response-col_status').innerText()).trim(),
    body: await live.locator('.response-col_description .highlight-code .microlight').innerText(),
  };
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  }
  server = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const origin = new URL(server.base).origin;
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'data:' && url.origin !== origin) foreignRequests.push(request.url());
  });
});

afterAll(async () => {
  try {
    // A failed run still leaves a picture of where the page stood.
    if (page && !screenshotTaken) await screenshot(page).catch(() => undefined);
    await browser?.close();
  } finally {
    await server?.close();
  }
});

describe('Swagger UI at /docs, driven by a real browser', () => {
  it('creates a product with "Try it out" (201) and finds it in the list (200)', async () => {
    const { base } = server!;
    const target = page!;
    await target.goto(`${base}/docs`);
    await target.locator('.opblock').first().waitFor();

    const create = await tryItOut(target, 'products', 'productsCreate');
    await create.locator('textarea.body-param__text').fill(JSON.stringify({ name: NAME, price: 1234.5, quantity: 3 }, null, 2));
    const created = await execute(create);
    expect(created.status).toBe('201');
    expect(created.body).toContain(NAME);
    expect(JSON.parse(created.body)).toMatchObject({ name: NAME, price: 1234.5, quantity: 3, in_stock: true });

    const list = await tryItOut(target, 'products', 'productsList');
    // Swagger UI pre-fills each field with its schema's example (category_id 17, min_price 74990.5, ...): clear them all.
    for (const input of await list.locator('tr[data-param-name] input').all()) await input.fill('');
    await list.locator('tr[data-param-name="q"] input').fill(NAME);
    const listed = await execute(list);
    expect(listed.status).toBe('200');
    expect(listed.body).toContain(NAME);

    const direct = await call(base, 'GET', `/products?q=${encodeURIComponent(NAME)}`);
    expect(direct.status).toBe(200);
    expect(direct.body).toMatchObject({ total: 1, items: [{ name: NAME }] });

    await create.scrollIntoViewIfNeeded();
    await screenshot(target);
    expect(foreignRequests).toEqual([]);
  });
});
