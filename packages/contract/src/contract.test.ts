import { describe, expect, it } from 'vitest';
import { codeForStatus, ERRORS, Money, operations, READ_ONLY_FIELDS } from './index.js';

describe('the contract as code', () => {
  it('gives every path parameter of every operation a field in its input', () => {
    for (const [procedure, operation] of Object.entries(operations)) {
      const shape = (operation.input as unknown as { shape: Record<string, unknown> }).shape;
      for (const [, name] of operation.path.matchAll(/\{(\w+)\}/g)) expect(Object.keys(shape), procedure).toContain(name);
    }
  });

  it('parses each example body with the operation’s own input schema', () => {
    for (const [procedure, operation] of Object.entries(operations)) {
      const input = { ...operation.example.path, ...operation.example.query, ...operation.example.body };
      expect(operation.input.safeParse(input).success, procedure).toBe(true);
    }
  });

  it('takes money with two fractional digits as sent, and refuses a third instead of rounding', () => {
    for (const price of [19.99, 4.35, 319.9, 0, 99_999_999.99]) expect(Money.safeParse(price).success, String(price)).toBe(true);
    for (const price of [19.999, 0.001, -1, 100_000_000]) expect(Money.safeParse(price).success, String(price)).toBe(false);
  });

  it('derives read-only fields from the resources and their writable fields', () => {
    expect([...READ_ONLY_FIELDS].sort()).toEqual(['available', 'category', 'created_at', 'id', 'in_stock', 'product_count', 'reserved', 'updated_at', 'version']);
  });

  it('names a code for every status in its table', () => {
    for (const [code, { status }] of Object.entries(ERRORS)) expect(codeForStatus(status)).toBe(code);
    expect(codeForStatus(418)).toBe('INTERNAL_SERVER_ERROR');
  });
});
