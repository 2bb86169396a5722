import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../src/index.js';
import { useServedCatalog } from './served.js';

const served = useServedCatalog({ EventSource });

type Received = { id: string; data: { type: string; data: { id: number | string; name?: string } | null } };

/** Subscribes from `after` and collects what arrives until `count` events are in. */
function collect(after: string | undefined, count: number): Promise<Received[]> {
  return new Promise((resolve, reject) => {
    const received: Received[] = [];
    const subscription = served.client.events.onChange.subscribe(
      { after, types: 'category.created' },
      {
        onData: (value) => {
          received.push(value);
          if (received.length === count) {
            subscription.unsubscribe();
            resolve(received);
          }
        },
        onError: reject,
      },
    );
  });
}

describe('events.onChange through the SDK', () => {
  it('delivers each committed change live, tracked by its id, and resumes after a saved id', async () => {
    const { next_after: start } = await served.client.events.list.query({ limit: 1000 });
    const live = collect(start, 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await served.client.categories.create.mutate({ name: 'Подписка 1' });
    await served.client.categories.create.mutate({ name: 'Подписка 2' });
    const [first, second] = await live;
    expect(first!.data).toMatchObject({ type: 'category.created', data: { name: 'Подписка 1' } });
    expect(first!.id).toBe((first!.data as { id?: string }).id);
    expect(second!.data.data?.name).toBe('Подписка 2');

    // A consumer that persisted `first.id` and comes back later gets exactly what followed it.
    const resumed = await collect(first!.id, 1);
    expect(resumed[0]!.id).toBe(second!.id);
  });

  it('reports a pruned cursor as GONE', async () => {
    await served.client.categories.create.mutate({ name: 'Старая подписка' });
    const { next_after: last } = await served.client.events.list.query({ limit: 1000, wait: 1 });
    await served.db.query(`UPDATE events_retention SET pruned_through = $1`, [last]);
    const error = await collect('0', 1).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(errorCode(error)).toBe('GONE');
    await expect(served.client.events.list.query({ after: '0' })).rejects.toMatchObject({ data: { code: 'GONE', httpStatus: 410 } });
  });
});
