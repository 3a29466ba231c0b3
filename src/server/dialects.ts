// Every wire protocol the server speaks. Convention: src/dialects/<name>/index.ts exports
// `createDialect(): Dialect`. Order is the order of the start-up banner.
import { createDialect as bist } from '../dialects/bist/index.js';
import { createDialect as coinex } from '../dialects/coinex/index.js';
import { createDialect as eventStream } from '../dialects/event-stream/index.js';
import { createDialect as nativeWs } from '../dialects/native-ws/index.js';
import { createDialect as rest } from '../dialects/rest/index.js';
import type { Dialect } from './dialect.js';

/** Names of the dialects the project plans; `allDialects()` serves those that exist. */
export const DIALECT_NAMES = ['native-ws', 'rest', 'event-stream', 'bist', 'coinex'] as const;

/** Fresh instances of every dialect (one set per server). */
export function allDialects(): Dialect[] {
  return [nativeWs(), rest(), eventStream(), bist(), coinex()];
}
