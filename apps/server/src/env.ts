/**
 * The server's whole configuration, read once from the environment (and `.env` at the repo root),
 * validated with zod: a bad value stops the start with one line naming the variable. The database part
 * (URL or embedded, pool, timeouts) is @tradeos/db's, shared with the migration CLI.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { databaseEnv, parseEnv, toDatabaseConfig, type DatabaseConfig } from '@tradeos/db';
import { z } from 'zod';

const flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

const server = {
  PORT: z.coerce.number().int().min(0).max(65_535).default(8000),
  HOST: z.string().min(1).default('127.0.0.1'),
  MIGRATE_ON_START: flag.optional(),
  SEED_ON_START: flag.optional(),
  API_KEYS: z
    .string()
    .optional()
    .transform((value) => (value ?? '').split(',').map((key) => key.trim()).filter(Boolean))
    .refine((keys) => keys.every((key) => key.length >= 16), 'every key must be at least 16 characters'),
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((value) => (value ?? '').split(',').map((origin) => origin.trim()).filter(Boolean))
    .refine((origins) => origins.every((origin) => origin === '*' || URL.canParse(origin)), 'must be * or comma-separated origins'),
  RATE_LIMIT_MAX: z.coerce.number().int().min(0).default(0),
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).default(60_000),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// URL' }).optional(),
  TRPC_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REQUEST_LOG_SAMPLE: z.coerce.number().min(0).max(1).default(1),
  WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  EVENTS_RETENTION_DAYS: z.coerce.number().min(0.001).default(7),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
};

export type Env = z.infer<z.ZodObject<typeof server>> & { database: DatabaseConfig };

/** Empty values (`DATABASE_URL=` in a .env file) mean unset; a bad value throws @tradeos/db's ConfigError. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const rootEnv = fileURLToPath(new URL('../../../.env', import.meta.url));
  if (source === process.env && existsSync(rootEnv)) process.loadEnvFile(rootEnv);
  const values = parseEnv({ ...server, ...databaseEnv }, source);
  return { ...values, database: toDatabaseConfig(values) };
}
