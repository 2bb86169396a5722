export { appRouter, createCaller, type AppRouter } from './root.js';
export { createContext, type Context, type Logger } from './context.js';
export { HTTP_STATUS, ValidationError, toErrorBody, toTRPCError, type ErrorBody, type Issue } from './errors.js';
export type { Meta } from './trpc.js';
export * from './schemas/common.js';
export * from './schemas/category.js';
export * from './schemas/product.js';
