import { z } from 'zod';

export const Health = z
  .object({ status: z.enum(['ok', 'error']), database: z.enum(['connected', 'disconnected']) })
  .meta({ id: 'Health' });
export type Health = z.infer<typeof Health>;
