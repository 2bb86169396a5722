/**
 * What changes when DATABASE_URL is PgBouncer in transaction mode (`DATABASE_POOLER=transaction`, contract v1.3):
 * consecutive transactions of one client connection may run on different server connections, so nothing may
 * depend on a server connection's state between transactions.
 *
 * - **No named statements.** A named statement is prepared on the server connection that parsed it; PgBouncer 1.18
 *   (Debian 12's) has no prepared-statement support, so the next Bind of that name on another server connection
 *   fails with `prepared statement "…" does not exist`. Every statement goes unnamed (parsed and bound in one round
 *   trip, which PgBouncer keeps on one server connection). The by-id read, W1, calls a PL/pgSQL function instead of
 *   sending its SELECT (`store/products.ts`): PL/pgSQL keeps its query's plan per server connection.
 * - **No session state.** No startup parameter PgBouncer refuses (pg sends `statement_timeout` as one: PgBouncer
 *   answers `unsupported startup parameter`), and no `SET` outside a transaction (Sequelize runs `SET
 *   client_min_messages` and `SET TIME ZONE` on each new connection unless told not to). The server-side statement
 *   timeout is the role's setting (`ALTER ROLE … SET statement_timeout`), which PostgreSQL applies to every server
 *   connection PgBouncer opens; the client-side query timeout works as without a pooler.
 * - **Cancellation through the pooler.** A backend's pid learned on one transaction belongs, on the next, to
 *   whichever client PgBouncer gave that server connection: `pg_cancel_backend(pid)` could stop a stranger's
 *   statement. Instead the protocol's CancelRequest goes to PgBouncer with the key it gave our client connection;
 *   PgBouncer forwards it only to the server connection linked to that client right now, and since 1.18 (#717) keeps
 *   that server connection from being reused until the cancel is done. Then the client connection is dropped.
 * - **Sessions of their own** (migrations and their advisory lock, the feed's LISTEN and horizon) use
 *   DATABASE_DIRECT_URL (`Database.directUrl`).
 *
 * This is the one module that reads pg's `processID` and `secretKey` (the client's BackendKeyData, untyped):
 * `test/pooler.test.ts` cancels through a real PgBouncer, and `backendKey` throws when an upgrade renames them.
 */
import { connect, type Socket } from 'node:net';
import type pg from 'pg';

/** What DATABASE_URL points at: PostgreSQL or a pooler in session mode, or a pooler in transaction mode. */
export type Pooler = 'session' | 'transaction';

/** A statement as this mode may send it: unnamed behind a transaction pooler. */
export function statementFor(pooler: Pooler, sql: string | { name: string; text: string }): { name?: string; text: string } {
  if (typeof sql === 'string') return { text: sql };
  return pooler === 'transaction' ? { text: sql.text } : sql;
}

/** The server-side statement timeout as a startup parameter, which only PostgreSQL (not PgBouncer) accepts. */
export function startupTimeout(pooler: Pooler, statementTimeoutMs: number): { statement_timeout?: number } {
  return pooler === 'transaction' ? {} : { statement_timeout: statementTimeoutMs };
}

/** Sequelize options that keep it from setting session state on each new connection behind a transaction pooler. */
export function sequelizeSession(pooler: Pooler): { keepDefaultTimezone?: boolean; dialectOptions: { clientMinMessages?: string } } {
  return pooler === 'transaction' ? { keepDefaultTimezone: true, dialectOptions: { clientMinMessages: 'ignore' } } : { dialectOptions: {} };
}

/**
 * The client's cancel key (BackendKeyData: with PgBouncer, the key PgBouncer gave this client connection) and the
 * server it connected to (a pool's client is a pg.Client, whose `host` and `port` its pool's type does not show).
 */
function backendKey(client: pg.ClientBase): { processID: number; secretKey: number; host: string; port: number } {
  const { processID, secretKey, host, port } = client as unknown as Record<string, unknown>;
  if (typeof processID !== 'number' || typeof secretKey !== 'number' || typeof host !== 'string' || typeof port !== 'number') {
    throw new Error('pg no longer exposes processID/secretKey/host/port on a connected client: connection/pooler.ts needs updating');
  }
  return { processID, secretKey, host, port };
}

const CANCEL_REQUEST_CODE = 80_877_102;

/**
 * Sends the protocol's CancelRequest for `client`'s running statement to the server it connected to (PgBouncer in
 * transaction mode), and resolves once that server closed the cancel connection (it has handled the request) or
 * `timeoutMs` passed. Rejects only when pg's cancel key is gone (an upgrade); a lost cancel leaves the statement to
 * the role's statement timeout.
 */
export async function cancelThroughPooler(client: pg.ClientBase, timeoutMs: number): Promise<void> {
  const { processID, secretKey, host, port } = backendKey(client);
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  message.writeInt32BE(processID, 8);
  message.writeInt32BE(secretKey, 12);
  await new Promise<void>((resolve) => {
    const socket: Socket = host.startsWith('/') ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    // Written, not ended: PgBouncer drops a cancel whose connection reaches EOF before it forwarded the request.
    socket.on('connect', () => socket.write(message));
    socket.on('error', done);
    socket.on('close', done);
  });
}
