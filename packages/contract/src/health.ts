import { z } from 'zod';

export const Health = z
  .object({
    status: z.enum(['ok', 'error']),
    database: z.enum(['connected', 'disconnected']),
    // Present only when the database is behind this build's migrations: drift an operator must see.
    migrations: z.literal('pending').optional(),
    // Contract v1.3: present when replicas are configured; `healthy` of them take reads.
    replicas: z.object({ healthy: z.int().min(0), total: z.int().min(0) }).optional(),
  })
  .meta({ id: 'Health' });
export type Health = z.infer<typeof Health>;
