/**
 * `pnpm search:eval`: the judged set of search by words (judged.ts) on a fresh database of the test
 * server (TEST_DATABASE_URL, else a throwaway embedded PostgreSQL): recall@5, MRR and every failure.
 */
import { createMigratedDatabase, startTestServer } from '../../src/testing.js';
import { evaluate, load } from './judged.js';

const server = await startTestServer(process.env.TEST_DATABASE_URL);
const { db, drop } = await createMigratedDatabase(server.adminUrl);
try {
  await load(db);
  const score = await evaluate(db);
  console.log(`queries ${score.queries}, recall@5 ${score.recallAt5.toFixed(3)}, MRR ${score.mrr.toFixed(3)}, forbidden matches ${score.forbidden}`);
  for (const failure of score.failures) console.log(`  ✗ ${failure}`);
  if (score.recallAt5 < 0.95 || score.forbidden > 0) process.exitCode = 1;
} finally {
  await drop();
  await server.stop();
}
