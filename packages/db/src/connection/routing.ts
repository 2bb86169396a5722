/**
 * Where a read goes (contract v1.3): round robin over the healthy replicas, a replica that has replayed the
 * request's minimum position (waiting at most `waitMs` for one), else the primary, which is never an error. Reads
 * are idempotent, so one whose replica connection died runs once more elsewhere (the primary last): a replica
 * killed under load fails no read. Each statement records the position of the data it served in the request's
 * context; a write records the primary's position after its commit.
 */
import { endsSession, isConnectionError, isPoolWait, isRetryable } from '../errors.js';
import { formatPosition, positionContext, saw, type Position, type PositionContext } from './positions.js';
import type { NamedStatement, Reads } from './reads.js';
import { Replica } from './replicas.js';
import { currentPosition, type ReplicaSet } from './rotation.js';
import type pg from 'pg';

/** How long a read with a minimum position waits for a replica to replay it before the primary answers it. */
export const MIN_POSITION_WAIT_MS = 100;

const PRIMARY = Symbol('primary');
type Node = Replica | typeof PRIMARY;

/** A replica's failure that another node may not share: its connection died, or replay cancelled the statement. */
function elsewhere(error: unknown): boolean {
  return endsSession(error) || isRetryable(error) || isPoolWait(error);
}

export class Router {
  constructor(
    private readonly primary: Reads,
    private readonly primaryPool: pg.Pool,
    private readonly set: ReplicaSet,
    private readonly waitMs = MIN_POSITION_WAIT_MS,
  ) {}

  async read<T>(sql: string | NamedStatement, binds: unknown[] = [], signal?: AbortSignal): Promise<T[]> {
    const context = positionContext();
    const node = await this.choose(context);
    try {
      return await this.run<T>(node, context, sql, binds, signal);
    } catch (error) {
      if (node === PRIMARY || !elsewhere(error) || signal?.aborted) throw error;
      if (isConnectionError(error) && !isPoolWait(error)) node.lost();
      const retry = this.set.next(context?.min ?? 0n, node) ?? PRIMARY;
      if (context) context.node = retry;
      return this.run<T>(retry, context, sql, binds, signal);
    }
  }

  /** The request's node when it has one and it is still healthy; else a replica in turn (or after a wait), else the primary. */
  private async choose(context: PositionContext | undefined): Promise<Node> {
    if (!this.set.replicas.length) return PRIMARY;
    const pinned = context?.node;
    if (pinned === PRIMARY || (pinned instanceof Replica && pinned.state === 'healthy')) return pinned;
    const min = context?.min ?? 0n;
    const node = this.set.next(min) ?? (min > 0n ? await this.set.waitFor(min, this.waitMs) : undefined) ?? PRIMARY;
    if (context) context.node = node;
    return node;
  }

  private async run<T>(node: Node, context: PositionContext | undefined, sql: string | NamedStatement, binds: unknown[], signal?: AbortSignal): Promise<T[]> {
    // Sampled before the statement: the data it reads is at least this new (and at least the minimum it was chosen for).
    const position = node === PRIMARY ? this.set.primary : node.replayed;
    const rows = await (node === PRIMARY ? this.primary : node.reads).query<T>(sql, binds, signal);
    saw(context?.min !== undefined && context.min > position ? context.min : position);
    return rows;
  }

  /** After a write committed: the primary's position now (at or past the commit), recorded in the request's context. */
  async committed(): Promise<void> {
    if (!positionContext()) return;
    const position = await currentPosition(this.primaryPool);
    if (position === undefined) return;
    this.set.advance(position);
    saw(position);
  }

  /** The token for a response: what its request saw, at least its minimum, else the primary's last known position. */
  position(context?: PositionContext): string {
    let position: Position = context?.seen ?? 0n;
    if (context?.min !== undefined && context.min > position) position = context.min;
    return formatPosition(position > 0n ? position : this.set.primary);
  }
}
