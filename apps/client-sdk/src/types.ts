/**
 * Types for users, so they never restate them: the contract's resources and requests, every procedure's input
 * and output by path (`RouterOutputs['products']['byId']`), and the REST error body. Aliases, not re-exports:
 * the contract's names are also zod schemas, which the SDK does not ship.
 */
import type { AppRouter } from '@tradeos/api';
import type * as contract from '@tradeos/contract';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

/** The JSON body of every REST error: `{ code, message, issues?, request_id?, shortages? }`. */
export type ApiError = contract.ApiError;
export type ErrorCode = contract.ErrorCode;
export type Issue = contract.Issue;
export type Product = contract.Product;
export type ProductCreate = contract.ProductCreate;
export type ProductUpdate = contract.ProductUpdate;
export type ProductQuantityChange = contract.ProductQuantityChange;
export type ProductListQuery = contract.ProductListQuery;
export type ProductSearchQuery = contract.ProductSearchQuery;
export type ProductByCategoryQuery = contract.ProductByCategoryQuery;
export type ProductPage = contract.ProductPage;
export type ProductSortKey = contract.ProductSortKey;
export type Category = contract.Category;
export type CategoryCreate = contract.CategoryCreate;
export type CategoryUpdate = contract.CategoryUpdate;
export type ProductBulk = contract.ProductBulk;
export type ProductBulkItem = contract.ProductBulkItem;
export type ProductBulkResult = contract.ProductBulkResult;
/** Stock reservations (contract v1.3); a short create rejects with a CONFLICT whose `data.shortages` lists each short item. */
export type Reservation = contract.Reservation;
export type ReservationCreate = contract.ReservationCreate;
export type ReservationListQuery = contract.ReservationListQuery;
export type ReservationPage = contract.ReservationPage;
export type ReservationStatus = contract.ReservationStatus;
export type Shortage = contract.Shortage;
/** The change feed (contract v1.2). */
export type Event = contract.Event;
export type EventType = contract.EventType;
export type EventPage = contract.EventPage;
export type EventListQuery = contract.EventListQuery;
export type EventStreamQuery = contract.EventStreamQuery;
