// CoinEx v2 error codes and how engine failures map onto them.
//
// The codes are the ones CoinEx documents (docs.coinex.com/api/v2/error) and that clients map to
// exception classes (ccxt 4.5.84, js/src/coinex.js `exceptions.exact`; js/src/pro/coinex.js for
// the WebSocket codes). A code outside that vocabulary would reach a client as a bare
// "ExchangeError", so every failure here uses one of them; the message says what went wrong.
import { ErrorCode, ErrorMessage, type Failure } from '../../core/types.js';

/** HTTP (REST) error codes. */
export const HttpCode = {
  OK: 0,
  /** ccxt: InsufficientFunds. */
  BALANCE_NOT_ENOUGH: 3109,
  /** ccxt: OrderNotFound. */
  ORDER_NOT_FOUND: 3600,
  /** ccxt: InvalidOrder. A market order with nothing on the other side of the book. */
  INSUFFICIENT_DEPTH: 3620,
  /** ccxt: InvalidOrder. A fill-or-kill order that cannot fill completely. */
  FOK_NOT_FILLED: 3621,
  /** ccxt: InvalidOrder. A maker-only order that would take liquidity. */
  MAKER_ONLY: 3622,
  /** ccxt: ExchangeNotAvailable. The server is shutting down. */
  SERVICE_UNAVAILABLE: 4001,
  /** ccxt: ExchangeError. */
  INTERNAL: 4003,
  /** ccxt: BadRequest. */
  PARAMETER: 4004,
  /** ccxt: AuthenticationError. Unknown, revoked or missing access id. */
  ACCESS_ID: 4005,
  /** ccxt: AuthenticationError. */
  SIGNATURE: 4006,
  /** ccxt: AuthenticationError. Missing or malformed X-COINEX-SIGN. */
  SIGN_VALUE: 4008,
  /** ccxt: ExchangeError. Unknown endpoint or HTTP method. */
  METHOD: 4009,
  /** ccxt: ExchangeError. X-COINEX-TIMESTAMP outside its window. */
  EXPIRED: 4010,
  /** ccxt: PermissionDenied. The API key lacks the permission the endpoint needs. */
  PERMISSION: 4011,
  /** ccxt: BadSymbol. The market exists but does not trade now (futures before start or after expiry). */
  MARKET_CLOSED: 4117,
  /** ccxt: ExchangeError. Futures order management is not offered by this server. */
  FUTURES_TRADING: 4130,
  /** ccxt: RateLimitExceeded. */
  RATE_LIMIT: 4213,
} as const;

/** WebSocket error codes: spot endpoint 2xxxx, futures endpoint 3xxxx (add WS_FUTURES_OFFSET). */
export const WsCode = {
  INVALID_ARGUMENT: 20001,
  METHOD_UNAVAILABLE: 20002,
  AUTH_REQUIRED: 21001,
  BAD_SIGNATURE: 21002,
  TOO_FREQUENT: 23002,
  INTERNAL: 24001,
} as const;
export const WS_FUTURES_OFFSET = 10000;

/** A failure with its CoinEx code; rendered as the unified envelope `{code, data: {}, message}`. */
export class CoinexError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** HTTP status: 200 for API-level failures (as CoinEx); gateway-like statuses for routing errors. */
    readonly status = 200,
  ) {
    super(message);
    this.name = 'CoinexError';
  }
}

export function paramError(message: string): CoinexError {
  return new CoinexError(HttpCode.PARAMETER, message);
}

export function orderNotFound(): CoinexError {
  return new CoinexError(HttpCode.ORDER_NOT_FOUND, 'Order not found');
}

export function futuresTradingUnavailable(): CoinexError {
  return new CoinexError(
    HttpCode.FUTURES_TRADING,
    'Futures trading is not available through this API: futures balances and positions are read-only',
  );
}

/** The CoinEx code and message for an engine failure. */
export function fromEngineFailure(f: Failure): CoinexError {
  switch (f.code) {
    case ErrorCode.INSUFFICIENT_FUNDS:
      return new CoinexError(HttpCode.BALANCE_NOT_ENOUGH, 'balance not enough');
    case ErrorCode.POST_ONLY:
      return new CoinexError(HttpCode.MAKER_ONLY, "This order can't be set as Maker Only and has been canceled.");
    case ErrorCode.RATE_LIMIT:
      return new CoinexError(HttpCode.RATE_LIMIT, 'The request is too frequent, please try again later.');
    case ErrorCode.AUTH:
      return new CoinexError(HttpCode.ACCESS_ID, f.message);
    case ErrorCode.NOT_FOUND:
      if (f.message === ErrorMessage.ORDER_NOT_FOUND) return orderNotFound();
      return new CoinexError(HttpCode.PARAMETER, f.message);
    case ErrorCode.INVALID:
      if (f.message === 'The market is not open for trading.') {
        return new CoinexError(HttpCode.MARKET_CLOSED, 'Trading prohibited in this market: it is not open for trading.');
      }
      return new CoinexError(HttpCode.PARAMETER, f.message);
    default:
      // TOO_MANY_ORDERS, ALREADY, TONCE_SEQUENCE: no CoinEx code of their own.
      return new CoinexError(HttpCode.PARAMETER, f.message);
  }
}
