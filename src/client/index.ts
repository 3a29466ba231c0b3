// TypeScript SDK for openfloor's native WebSocket API (the Coinfloor/CoinFLEX protocol).
export { NativeClient, ApiError, ConnectionClosedError } from './client.js';
export type { ClientOptions, Credentials, CloseInfo } from './client.js';
export { LocalBook } from './local-book.js';
export type { BookEntry } from './local-book.js';
export * from './types.js';
