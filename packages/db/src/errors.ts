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

function causes(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  for (let current = error as ErrorLike | undefined; current && chain.length < 5; current = current.parent ?? current.original) chain.push(current);
  return chain;
}

// pg's words when the server asks for a password that the URL does not carry (SCRAM, or a password callback).
const NO_PASSWORD = /client password must be a string|Password must be a string/;

/** True when the server refused the login (no password, wrong password, unknown role): retrying will not help. */
export function isCredentialError(error: unknown): boolean {
  return causes(error).some((e) => NO_PASSWORD.test(e.message ?? '') || e.code === '28P01' || e.code === '28000');
}

/** The one line an operator reads about a database failure: never a stack trace or a connection string. */
export function describeDatabaseError(error: unknown): string {
  const chain = causes(error);
  if (chain.some((e) => NO_PASSWORD.test(e.message ?? ''))) {
    return 'the database server asks for a password and DATABASE_URL has none (postgres://user:password@host:port/database)';
  }
  const refused = chain.find((e) => e.code === '28P01' || e.code === '28000');
  if (refused) return `the database refused the login: ${refused.message ?? refused.code ?? 'unknown reason'}`;
  const root = chain.at(-1) ?? {};
  const detail = [root.code, root.message].filter(Boolean).join(' ') || String(error);
  return isConnectionError(error) ? `cannot reach the database (${detail}); is PostgreSQL running and DATABASE_URL right?` : detail;
}
