/**
 * The pg client behind every connection this package opens (the pools, Sequelize's, the migrator's, the admin ones):
 * a connection's death fails the call that used it and never the process, and a dead session is never reused.
 */
import pg from 'pg';
import { endsSession } from '../errors.js';

/**
 * pg emits 'error' on a client whose connection dies (reset, terminated, the server gone), even in the middle of a
 * query, and an 'error' nobody listens to ends the process; pg-pool listens only while a client is idle. So each
 * client listens from birth; the failure still reaches the caller through its rejected query or connect.
 *
 * A FATAL error (`pg_terminate_backend`, a shutdown) fails the running query, but the socket's end arrives a turn
 * later: a pool given the client back before then would hand the dead session to the next caller. Sequelize 6
 * returns it (it discards only on socket errors), so the client ends itself at once, which every pool checks.
 */
export class SessionClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

// Outside the class: pg types `query` as a dozen overloads; this passes every form through and only watches failures.
const query = Reflect.get(pg.Client.prototype, 'query') as (this: pg.Client, ...args: unknown[]) => unknown;
SessionClient.prototype.query = function (this: SessionClient, ...args: unknown[]): unknown {
  const watch = (error: unknown) => {
    if (error && endsSession(error)) this.end().catch(() => undefined);
  };
  const callback = args.at(-1);
  if (typeof callback === 'function') {
    args[args.length - 1] = (error: unknown, result: unknown) => {
      watch(error);
      (callback as (error: unknown, result: unknown) => void)(error, result);
    };
  }
  const result = query.apply(this, args);
  if (result instanceof Promise) result.catch(watch);
  return result;
} as typeof pg.Client.prototype.query;

/** pg with this Client, for Sequelize's documented `dialectModule` option. */
export const sequelizeDialect: typeof pg = Object.assign(Object.create(pg) as typeof pg, { Client: SessionClient });
