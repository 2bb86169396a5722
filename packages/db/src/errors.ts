/** Classifies driver errors without knowing anything of HTTP: the API maps these kinds to statuses. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const CONNECTION_NAMES = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionTimedOutError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeHostNotFoundError',
  'SequelizeHostNotReachableError',
  'SequelizeAccessDeniedError',
]);

interface ErrorLike {
  name?: string;
  code?: string;
  message?: string;
  parent?: ErrorLike;
  original?: ErrorLike;
}

/** True when the error means "the database cannot be reached right now", as opposed to a bad query. */
export function isConnectionError(error: unknown): boolean {
  let current = error as ErrorLike | undefined;
  for (let depth = 0; current && depth < 5; depth += 1) {
    if (current.name && CONNECTION_NAMES.has(current.name)) return true;
    if (current.code && CONNECTION_CODES.has(current.code)) return true;
    if (current.message && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(current.message)) return true;
    current = current.parent ?? current.original;
  }
  return false;
}
