/**
 * The pg client behind every connection this package opens (the pools, Sequelize's, the migrator's, the admin ones):
 * a connection's death fails the call that used it, never the process.
 */
import pg from 'pg';

/**
 * pg emits 'error' on a client whose connection dies (reset, terminated, the server gone), even in the middle of a
 * query, and an 'error' nobody listens to ends the process; pg-pool listens only while a client is idle. So each
 * client listens from birth; the failure still reaches the caller through its rejected query or connect.
 */
export class SessionClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/** pg with this Client, for Sequelize's documented `dialectModule` option. */
export const sequelizeDialect: typeof pg = Object.assign(Object.create(pg) as typeof pg, { Client: SessionClient });
