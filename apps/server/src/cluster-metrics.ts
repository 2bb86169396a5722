/**
 * How `/metrics` gathers its text: this process's registry alone, or with WORKERS every worker's, aggregated by the
 * cluster primary through prom-client's AggregatorRegistry (its documented way for node:cluster). The worker a scrape
 * reaches asks the primary, which asks every worker and answers with the aggregate.
 */
import type { Cluster } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';

/** Given this process's registries (once, when the app is built), the function that gathers a scrape's text. */
export type GatherMetrics = (locals: Registry[]) => () => Promise<string>;

/** A single process: its own registries are the whole answer. */
export const processMetrics: GatherMetrics = (locals) => async () => (await Promise.all(locals.map((local) => local.metrics()))).join('');

interface GatherMessage {
  kind: 'metrics:gather';
  id: string;
}
interface GatheredMessage {
  kind: 'metrics:gathered';
  id: string;
  text?: string;
  error?: string;
}

// prom-client gives the workers 5 s to answer the primary; past that (and the two hops) the scrape fails.
const GATHER_TIMEOUT_MS = 6_000;

/** In the cluster primary: answers a worker's request for the metrics of every worker. */
export function serveMetricsToWorkers(cluster: Cluster): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: Partial<GatherMessage>) => {
    if (message.kind !== 'metrics:gather' || !message.id) return;
    const { id } = message;
    void aggregator.clusterMetrics().then(
      (text) => ({ text }),
      (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
    ).then((answer) => {
      if (worker.isConnected()) worker.send({ kind: 'metrics:gathered', id, ...answer } satisfies GatheredMessage);
    });
  });
}

/** In a cluster worker: shares this worker's registry with the primary's gathering, and asks the primary for the aggregate. */
export function workerMetrics(channel: NodeJS.Process = process): GatherMetrics {
  return (locals) => {
    AggregatorRegistry.setRegistries(locals);
    // Its constructor installs, once per process, the worker's answer to the primary's requests (for the registries above).
    void new AggregatorRegistry();
    const pending = new Map<string, (answer: GatheredMessage) => void>();
    channel.on('message', (message: Partial<GatheredMessage>) => {
      if (message.kind === 'metrics:gathered' && message.id) pending.get(message.id)?.(message as GatheredMessage);
    });
    return () =>
      new Promise<string>((resolve, reject) => {
        const id = randomUUID();
        const timer = setTimeout(() => answered({ kind: 'metrics:gathered', id, error: 'the primary did not answer' }), GATHER_TIMEOUT_MS);
        const answered = (answer: GatheredMessage) => {
          clearTimeout(timer);
          pending.delete(id);
          if (answer.text === undefined) reject(new Error(`gathering the workers' metrics failed: ${answer.error ?? 'no text'}`));
          else resolve(answer.text);
        };
        pending.set(id, answered);
        channel.send?.({ kind: 'metrics:gather', id } satisfies GatherMessage);
      });
  };
}
