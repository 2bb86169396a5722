import { describe, expect, it } from 'vitest';
import { useMigratedDatabase } from '../src/fixture.js';
import { evaluate, judged, load } from './search/judged.js';

const db = useMigratedDatabase();

describe('search by words, judged', () => {
  it('finds at least 95 % of the expected products in the first five over 80+ queries, and never a forbidden one', async () => {
    await load(db);
    const score = await evaluate(db);
    expect(judged.length).toBeGreaterThanOrEqual(80);
    expect(score.failures).toEqual([]);
    expect(score.recallAt5).toBeGreaterThanOrEqual(0.95);
    expect(score.forbidden).toBe(0);
  });
});
