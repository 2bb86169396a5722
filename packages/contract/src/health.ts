import { z } from 'zod';

export const Health = z
  .object({
    status: z.enum(['ok', 'error']),
    database: z.enum(['connected', 'disconnected']),
    // Present only when the database is behind this build's migrations: drift an operator must see.
    migrations: z.literal('pending').optional(),
  })
  .meta({ id: 'Health' });
export type Health = z.infer<typeof Health>;
