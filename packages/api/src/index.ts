/** The tRPC router over the contract's operations, the context and storage port it runs on, and error mapping. */
export { appRouter, createCaller, type AppRouter } from './root.js';
export { createContext, type Context, type Logger } from './context.js';
export { BusyError, errorHeaders, GoneError, ShortageError, ValidationError, statusOf, toErrorBody, toTRPCError } from './errors.js';
export * from './store.js';
