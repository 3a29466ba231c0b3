// The engine's contract: configuration, commands in, results and events out.
// Everything here is plain serialisable data; the engine itself lives in engine.ts.

/** Result codes of the native protocol (WEBSOCKET-README.md error tables). 0 is success. */
export const ErrorCode = {
  OK: 0,
  NOT_FOUND: 1,
  ALREADY: 2,
  TONCE_SEQUENCE: 3,
  INSUFFICIENT_FUNDS: 4,
  TOO_MANY_ORDERS: 5,
  RATE_LIMIT: 6,
  AUTH: 7,
  INVALID: 8,
  POST_ONLY: 9,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Error messages reproduced word for word from the spec tables. */
export const ErrorMessage = {
  INVALID_PAIR: 'You specified an invalid asset pair.',
  ORDER_NOT_FOUND: 'The specified order was not found.',
  NO_SUCH_USER: 'There is no such user.',
  TONCE_SEQUENCE: 'Tonce is out of sequence.',
  INSUFFICIENT_FUNDS: 'You have insufficient funds.',
  TOO_MANY_ORDERS: 'You have too many outstanding orders.',
  ORDERS_TOO_RAPIDLY: 'You are sending orders too rapidly.',
  INFO_TOO_RAPIDLY: 'You are making information requests too rapidly.',
  AUTH_TOO_RAPIDLY: 'You are making authentication attempts too rapidly.',
  NOT_AUTHENTICATED: 'You are not authenticated.',
  BAD_COOKIE: 'You sent an incorrect login cookie.',
  BAD_SIGNATURE: 'You sent an incorrect signature. This probably means you used a wrong passphrase.',
  TONCE_ZERO: 'Tonce must not be zero.',
  PRICE_ZERO: 'Price must not be zero.',
  QUANTITY_ZERO: 'Quantity must not be zero.',
  TOTAL_ZERO: 'Total must not be zero.',
  TOTAL_OVERFLOW: 'Order total would overflow.',
  QUANTITY_OR_TOTAL: 'You must specify either quantity or total for a market order.',
  ID_OR_TONCE: 'You must specify either order ID or tonce.',
  DELTA_OR_PRICE: 'You must specify quantity delta and/or price.',
  DELTA_ZERO: 'Quantity delta must not be zero.',
  POST_ONLY: 'Post-only order with these parameters would result in an immediate match.',
  NOT_WATCHING_ORDERS: 'You are not watching the order book for the specified asset pair.',
  ALREADY_WATCHING_ORDERS: 'You are already watching the order book for the specified asset pair.',
  NOT_WATCHING_TICKER: 'You are not watching the ticker for the specified asset pair.',
  ALREADY_WATCHING_TICKER: 'You are already watching the ticker for the specified asset pair.',
} as const;

// ---------------------------------------------------------------- configuration

export interface AssetConfig {
  /** Numeric asset code as in SCALE.md, e.g. 63488 (0xF800) for XBT. */
  code: number;
  name: string;
  /** Units per whole asset, e.g. 10000 or 100000000. */
  scale: number;
}

/** A fee tier applies when the user's 30-day trailing volume in the market's counter asset is at least minVolume. */
export interface FeeTier {
  minVolume: number;
  /** Fee rates in parts per million of the trade total (300 = 0.03 %). */
  makerPpm: number;
  takerPpm: number;
}

export interface MarketConfig {
  base: number;
  counter: number;
  /** Price units per whole counter-per-base, e.g. 10000 or 100. */
  priceScale: number;
  /** Tick size in scaled price units (SCALE.md tick table times priceScale). */
  tick: number;
  kind: 'spot' | 'futures';
  /** Underlying spot market name for futures, e.g. "XBT:USDT"; for spot the market's own name. */
  spotName?: string;
  /** Futures only: epoch milliseconds of the first trade date and of expiry; tenor code. */
  start?: number;
  expires?: number;
  tenor?: string;
  /** Fee schedule, sorted by minVolume ascending; the first tier should start at 0. */
  fees: FeeTier[];
}

export interface EngineConfig {
  assets: AssetConfig[];
  markets: MarketConfig[];
  /**
   * 'unique': CoinFLEX's rule, a tonce must be unique among the user's live orders.
   * 'increasing': Coinfloor's rule, strictly greater than any tonce accepted since the last CancelAllOrders.
   */
  tonceRule: 'unique' | 'increasing';
  /** Open orders per user (LIMITS.md: 1,000). */
  maxOpenOrders: number;
  /** Seed of the stochastic-rounding PRNG. */
  seed: number;
}

// ---------------------------------------------------------------- commands

/** Fields the sequencer stamps on every command before it is journaled. */
export interface Stamp {
  /** Sequence number, strictly increasing. */
  seq: number;
  /** Micro-timestamp (microseconds since the Unix epoch). */
  time: number;
}

export type Persist = boolean | 'fill_or_kill';

export interface PlaceOrder extends Stamp {
  type: 'PlaceOrder';
  userId: number;
  /** Session that placed it; non-persistent orders are cancelled when it disconnects. */
  sessionId: number;
  tonce?: number | null;
  base: number;
  counter: number;
  quantity?: number;
  price?: number;
  total?: number;
  persist?: Persist;
  postOnly?: boolean;
  /**
   * An opaque client reference, journaled with the command; the engine does not interpret it
   * (nor store it: results, events, snapshots and the state hash never carry it). Read models
   * that report client order ids take it from the journaled command.
   */
  clientOrderId?: string;
  /**
   * The order type as the submitting dialect named it, where the fields above cannot tell it
   * (CoinEx 'fok': a liquidity check, then run as fill_or_kill like 'ioc'). Journaled, opaque to
   * the engine like clientOrderId, so a read model rebuilt from the journal reports it again.
   */
  dialectOrderType?: string;
}

export interface ModifyOrder extends Stamp {
  type: 'ModifyOrder';
  userId: number;
  id?: number;
  tonce?: number;
  quantityDelta?: number;
  price?: number;
  postOnly?: boolean;
}

export interface CancelOrder extends Stamp {
  type: 'CancelOrder';
  userId: number;
  id?: number;
  tonce?: number;
}

export interface CancelAllOrders extends Stamp {
  type: 'CancelAllOrders';
  userId: number;
}

/** A session closed: its non-persistent orders are cancelled. */
export interface Disconnect extends Stamp {
  type: 'Disconnect';
  sessionId: number;
}

/** The server (re)started: every non-persistent order of the previous run is cancelled. */
export interface ServerStarted extends Stamp {
  type: 'ServerStarted';
}

/** Advances engine time without any other effect (expires 24 h ticker windows deterministically). */
export interface Tick extends Stamp {
  type: 'Tick';
}

export interface CreateUser extends Stamp {
  type: 'CreateUser';
  /** Base64 of the uncompressed secp224k1 public key (57 bytes). */
  publicKey: string;
  /** Base64 login cookie. */
  cookie: string;
}

export interface Deposit extends Stamp {
  type: 'Deposit';
  userId: number;
  asset: number;
  amount: number;
}

export interface Withdraw extends Stamp {
  type: 'Withdraw';
  userId: number;
  asset: number;
  amount: number;
  address: string;
}

export interface AddWithdrawalAddress extends Stamp {
  type: 'AddWithdrawalAddress';
  userId: number;
  asset: number;
  address: string;
}

export interface AddAsset extends Stamp {
  type: 'AddAsset';
  asset: AssetConfig;
}

export interface AddMarket extends Stamp {
  type: 'AddMarket';
  market: MarketConfig;
}

export type ApiKeyPermission = 'read' | 'trade';

export interface CreateApiKey extends Stamp {
  type: 'CreateApiKey';
  userId: number;
  accessId: string;
  /** HMAC secret; kept in engine state so the journal alone rebuilds it. */
  secretKey: string;
  permissions: ApiKeyPermission[];
}

export interface RevokeApiKey extends Stamp {
  type: 'RevokeApiKey';
  accessId: string;
}

export type Command =
  | PlaceOrder
  | ModifyOrder
  | CancelOrder
  | CancelAllOrders
  | Disconnect
  | ServerStarted
  | Tick
  | CreateUser
  | Deposit
  | Withdraw
  | AddWithdrawalAddress
  | AddAsset
  | AddMarket
  | CreateApiKey
  | RevokeApiKey;

export type CommandType = Command['type'];

/** A command before the sequencer stamps it. */
export type UnstampedCommand = Command extends infer C ? (C extends Command ? Omit<C, 'seq' | 'time'> : never) : never;

// ---------------------------------------------------------------- results

/** An order as GetOrders, CancelOrder, ModifyOrder and CancelAllOrders report it. */
export interface OrderRecord {
  id: number;
  tonce: number | null;
  base: number;
  counter: number;
  /** Signed: positive for a bid, negative for an ask. */
  quantity: number;
  price: number;
  /** Micro-timestamp at which the order was opened (modified, in a ModifyOrder reply). */
  time: number;
}

export interface Failure {
  ok: false;
  code: Exclude<ErrorCode, 0>;
  message: string;
}

export type Result<T> = ({ ok: true } & T) | Failure;

export interface PlaceOrderOk {
  /** Limit orders only. */
  id?: number;
  time?: number;
  /** Market orders only: untraded base (by quantity) or counter (by total). */
  remaining?: number;
}

export type CommandResult =
  | Result<PlaceOrderOk>
  | Result<{ order: OrderRecord }>
  | Result<{ orders: OrderRecord[] }>
  | Result<{ userId: number }>
  | Result<Record<string, never>>;

// ---------------------------------------------------------------- events

export interface BalanceChanged {
  type: 'BalanceChanged';
  userId: number;
  asset: number;
  available: number;
  reserved: number;
}

export interface OrderOpened {
  type: 'OrderOpened';
  userId: number;
  id: number;
  tonce: number | null;
  base: number;
  counter: number;
  quantity: number;
  price: number;
  time: number;
}

export interface OrderModified {
  type: 'OrderModified';
  userId: number;
  id: number;
  tonce: number | null;
  base: number;
  counter: number;
  quantity: number;
  price: number;
  /** Micro-timestamp of the modification. */
  time: number;
}

export interface OrdersMatched {
  type: 'OrdersMatched';
  /** Order ids; null when that side was a market order. */
  bid: number | null;
  ask: number | null;
  bidUserId: number;
  askUserId: number;
  bidTonce: number | null;
  askTonce: number | null;
  base: number;
  counter: number;
  quantity: number;
  takerSide: 'bid' | 'ask';
  price: number;
  total: number;
  /** Remaining quantities; null when that side was a market order. */
  bidRem: number | null;
  askRem: number | null;
  time: number;
  bidBaseFee: number;
  bidCounterFee: number;
  askBaseFee: number;
  askCounterFee: number;
}

export interface OrderClosed {
  type: 'OrderClosed';
  userId: number;
  id: number;
  tonce: number | null;
  base: number;
  counter: number;
  /** Signed remaining quantity; zero when completely filled. */
  quantity: number;
  price: number;
  /** Micro-timestamp at which the order was opened. */
  time: number;
  timeClosed: number;
  reason: 'filled' | 'cancelled' | 'killed' | 'disconnected' | 'exhausted';
}

export interface TickerFields {
  last: number | null;
  bid: number | null;
  ask: number | null;
  low: number | null;
  high: number | null;
  volume: number;
}

/** Only the fields that changed since the previous TickerChanged of the market are present. */
export interface TickerChanged extends Partial<TickerFields> {
  type: 'TickerChanged';
  base: number;
  counter: number;
  time: number;
}

export interface TradeVolumeChanged {
  type: 'TradeVolumeChanged';
  userId: number;
  asset: number;
  volume: number;
}

export interface UserCreated {
  type: 'UserCreated';
  userId: number;
}

export interface MarketAdded {
  type: 'MarketAdded';
  base: number;
  counter: number;
}

export interface AssetAdded {
  type: 'AssetAdded';
  asset: number;
}

export type EngineEvent =
  | BalanceChanged
  | OrderOpened
  | OrderModified
  | OrdersMatched
  | OrderClosed
  | TickerChanged
  | TradeVolumeChanged
  | UserCreated
  | MarketAdded
  | AssetAdded;

// ---------------------------------------------------------------- queries (read-only views)

export interface BalanceView {
  asset: number;
  available: number;
  reserved: number;
}

export interface BookOrderView {
  id: number;
  /** Signed: positive bid, negative ask. */
  quantity: number;
  price: number;
  time: number;
}

export interface Ticker extends TickerFields {
  base: number;
  counter: number;
  /** 24 h volume-weighted average price, null without trades in the window. */
  vwap: number | null;
  /** Micro-timestamp of the last ticker change. */
  time: number;
}

export interface PositionView {
  asset: number;
  position: number;
  /** Micro-timestamp of the last change. */
  through: number;
}

export interface UserView {
  id: number;
  publicKey: string;
  cookie: string;
}

export interface ApiKeyView {
  accessId: string;
  userId: number;
  secretKey: string;
  permissions: ApiKeyPermission[];
  revoked: boolean;
}

export interface Depth {
  /** [price, aggregated quantity] from the best level outwards. */
  bids: [number, number][];
  asks: [number, number][];
}

export interface EstimateOk {
  quantity: number;
  total: number;
}

/**
 * What the rest of the system may ask the engine. Only `apply` changes state, and only the
 * sequencer calls it; everything else is a read-only query.
 */
export interface EngineApi {
  /** Applies one stamped command, appending the events it causes to `out` in engine order. */
  apply(cmd: Command, out: EngineEvent[]): CommandResult;

  /** Sequence number and micro-timestamp of the last applied command (0 before any). */
  readonly lastSeq: number;
  readonly now: number;

  assets(): AssetConfig[];
  asset(code: number): AssetConfig | undefined;
  assetByName(name: string): AssetConfig | undefined;
  markets(): MarketConfig[];
  market(base: number, counter: number): MarketConfig | undefined;

  estimateMarketOrder(base: number, counter: number, quantity: number | undefined, total: number | undefined): Result<EstimateOk>;
  balances(userId: number): BalanceView[];
  openOrders(userId: number): OrderRecord[];
  openOrder(userId: number, id: number): OrderRecord | undefined;
  /** Up to maxPerSide best bids then best asks, in priority order (WatchOrders snapshot). */
  bookOrders(base: number, counter: number, maxPerSide: number): BookOrderView[] | undefined;
  depth(base: number, counter: number, maxLevels: number): Depth | undefined;
  ticker(base: number, counter: number): Ticker | undefined;
  tickers(): Ticker[];
  /** 30-day trailing volume as of the engine's current time. */
  tradeVolume(userId: number, asset: number): number;
  positions(userId: number): PositionView[];

  user(userId: number): UserView | undefined;
  users(): UserView[];
  apiKey(accessId: string): ApiKeyView | undefined;
  apiKeys(userId: number): ApiKeyView[];
  withdrawalAddresses(userId: number): { asset: number; address: string }[];

  /** A JSON-safe copy of the whole state; `Engine.restore` rebuilds an identical engine from it. */
  serialize(): unknown;
  /** SHA-256 over the canonical serialisation, hex. */
  stateHash(): string;
}
