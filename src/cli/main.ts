#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node --min-semi-space-size=32 --max-semi-space-size=32
// The `openfloor` command: `serve` runs the exchange; every other command administers one,
// through the admin API of a running server or offline against its data directory.
import '../v8-tuning.js';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AdminError } from '../server/admin.js';
import { ConfigError, FSYNC_POLICIES, LOG_LEVELS, PROFILES, loadConfig, type OpenfloorConfig } from '../server/config.js';
import type { RunningServer } from '../server/server.js';
import { banner, printResult } from './output.js';
import { CliError, openTarget, type OpsClient } from './target.js';

function version(): string {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    for (const p of [join(here, '../../../package.json'), join(here, '../../package.json')]) {
      try {
        return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
      } catch {
        // try the next
      }
    }
  } catch {
    // fall through
  }
  return '0.0.0';
}

// ---------------------------------------------------------------- argument parsers

function port(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError(`${name} must be a port number 0-65535.`);
    return Number(v);
  };
}

function positiveInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) <= 0 || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`${name} must be a positive integer.`);
    return Number(v);
  };
}

function userId(v: string): string {
  if (!/^\d+$/.test(v) || Number(v) <= 0) throw new InvalidArgumentError('a user id is a positive integer.');
  return v;
}

function boolEnv(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  return !/^(0|false|no|off)$/i.test(v);
}

// ---------------------------------------------------------------- serve

interface ServeFlags {
  port?: number;
  host?: string;
  dataDir?: string;
  config?: string;
  fsync?: string;
  tlsCert?: string;
  tlsKey?: string;
  adminHost?: string;
  adminPort?: number;
  logLevel?: string;
  profile?: string;
  demo?: boolean;
  demoLiquidity?: boolean;
}

async function serve(flags: ServeFlags): Promise<void> {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new CliError(`${flags.tlsCert === undefined ? '--tls-cert' : '--tls-key'}: TLS needs both --tls-cert and --tls-key`, 2);
  }
  const overrides: Record<string, unknown> = {};
  const listen: Record<string, unknown> = {};
  const admin: Record<string, unknown> = {};
  if (flags.host !== undefined) listen.host = flags.host;
  if (flags.port !== undefined) listen.port = flags.port;
  if (flags.adminHost !== undefined) admin.host = flags.adminHost;
  if (flags.adminPort !== undefined) admin.port = flags.adminPort;
  if (Object.keys(listen).length) overrides.listen = listen;
  if (Object.keys(admin).length) overrides.admin = admin;
  if (flags.dataDir !== undefined) overrides.dataDir = flags.dataDir;
  if (flags.fsync !== undefined) overrides.fsync = flags.fsync;
  if (flags.logLevel !== undefined) overrides.logLevel = flags.logLevel;
  if (flags.profile !== undefined) overrides.profile = flags.profile;
  if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) overrides.tls = { cert: flags.tlsCert, key: flags.tlsKey };

  let config: OpenfloorConfig;
  try {
    config = loadConfig(flags.config, overrides);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
  const demoEnv = boolEnv(process.env.OPENFLOOR_DEMO);
  const demo = flags.demo ?? demoEnv ?? false;
  const liquidity = flags.demoLiquidity ?? boolEnv(process.env.OPENFLOOR_DEMO_LIQUIDITY) ?? demo;

  const { startServer } = await import('../server/server.js');
  let server: RunningServer;
  try {
    server = await startServer({
      dataDir: config.dataDir,
      host: config.listen.host,
      port: config.listen.port,
      adminHost: config.admin.host,
      adminPort: config.admin.port,
      fsync: config.fsync,
      ...(config.tls ? { tls: config.tls } : {}),
      logLevel: config.logLevel,
      config,
      demo,
      demoLiquidity: liquidity,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new CliError(`port already in use: ${e.message} (choose another with --port / --admin-port)`);
    if (e.code === 'ENOENT' && config.tls) throw new CliError(`tls: cannot read certificate or key: ${e.message}`, 2);
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
  process.stderr.write(banner(server, config, version()));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`openfloor: ${signal} again, exiting without a clean shutdown\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`openfloor: ${signal} received, finishing in-flight commands and taking a snapshot…\n`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`openfloor: shutdown failed: ${(err as Error).stack ?? String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// ---------------------------------------------------------------- operator commands

interface CommonFlags {
  dataDir: string;
  adminUrl?: string;
  adminToken?: string;
  offline?: boolean;
  config?: string;
  json?: boolean;
}

function addCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('-d, --data-dir <dir>', 'data directory of the exchange').env('OPENFLOOR_DATA_DIR').default('./data'))
    .addOption(new Option('--admin-url <url>', 'admin API of a running server (default: from <data-dir>/server.json)').env('OPENFLOOR_ADMIN_URL'))
    .addOption(new Option('--admin-token <token>', 'admin token (default: <data-dir>/admin-token)').env('OPENFLOOR_ADMIN_TOKEN'))
    .option('--offline', 'open the data directory directly (only when no server runs on it)')
    .addOption(new Option('-c, --config <file>', 'configuration file (offline mode: engine defaults)').env('OPENFLOOR_CONFIG'))
    .option('--json', 'print the result as JSON');
}

type Opts = Record<string, unknown>;

/** Runs an operator action with the right target and uniform error handling. */
function action(label: string, run: (ops: OpsClient, opts: Opts, args: string[]) => Promise<unknown>): (...all: unknown[]) => Promise<void> {
  return async (...all) => {
    const cmd = all[all.length - 1] as Command;
    const flags = cmd.optsWithGlobals() as CommonFlags;
    const args = all.slice(0, -2) as string[];
    const ops = await openTarget({
      dataDir: resolve(flags.dataDir),
      ...(flags.adminUrl !== undefined ? { adminUrl: flags.adminUrl } : {}),
      ...(flags.adminToken !== undefined ? { adminToken: flags.adminToken } : {}),
      ...(flags.offline ? { offline: true } : {}),
      ...(flags.config !== undefined ? { config: flags.config } : {}),
    });
    try {
      const result = await run(ops, cmd.opts(), args);
      printResult(label, result, flags.json === true);
    } finally {
      await ops.close();
    }
  };
}

function buildProgram(): Command {
  const program = new Command();
  program
    .name('openfloor')
    .description('openfloor: a self-hostable cryptocurrency exchange trade engine.\nRun `openfloor serve --demo` for a live demo exchange.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .enablePositionalOptions();

  program
    .command('serve')
    .description('run the exchange: every dialect on the public port, admin API, /metrics, /healthz and /readyz on the admin port')
    .addOption(new Option('-p, --port <port>', 'public port (default 8080; 0 = any free port)').env('OPENFLOOR_PORT').argParser(port('--port')))
    .addOption(new Option('--host <host>', 'public listen address (default 0.0.0.0)').env('OPENFLOOR_HOST'))
    .addOption(new Option('-d, --data-dir <dir>', 'data directory: journal, snapshots, admin token (default ./data)').env('OPENFLOOR_DATA_DIR'))
    .addOption(new Option('-c, --config <file>', 'configuration file, YAML or JSON').env('OPENFLOOR_CONFIG'))
    .addOption(new Option('--fsync <policy>', 'journal fsync policy (default always)').env('OPENFLOOR_FSYNC').choices(FSYNC_POLICIES))
    .addOption(new Option('--tls-cert <file>', 'PEM certificate: serve https:// and wss://').env('OPENFLOOR_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('OPENFLOOR_TLS_KEY'))
    .addOption(new Option('--admin-host <host>', 'admin listen address (default 127.0.0.1)').env('OPENFLOOR_ADMIN_HOST'))
    .addOption(new Option('--admin-port <port>', 'admin port (default 8081; 0 = any free port)').env('OPENFLOOR_ADMIN_PORT').argParser(port('--admin-port')))
    .addOption(new Option('--log-level <level>', 'log level (default info)').env('OPENFLOOR_LOG_LEVEL').choices(LOG_LEVELS))
    .addOption(new Option('--profile <profile>', 'built-in assets and markets (default coinflex)').env('OPENFLOOR_PROFILE').choices(PROFILES))
    .option('--demo', 'demo mode: funded demo user, credentials in <data-dir>/demo-credentials.json (env OPENFLOOR_DEMO=1)')
    .option('--demo-liquidity', 'run the demo market maker (on with --demo; env OPENFLOOR_DEMO_LIQUIDITY)')
    .option('--no-demo-liquidity', 'demo without the market maker')
    .action(async (flags: ServeFlags) => serve(flags));

  const user = program.command('user').description('users: create, list');
  addCommon(user.command('create'))
    .description('create a user (journaled CreateUser); prints its id, cookie and passphrase. Only the public key is stored.')
    .option('--passphrase <passphrase>', 'the user\'s passphrase (default: generated and printed once)')
    .action(
      action('user create', (ops, o) => ops.createUser(o.passphrase as string | undefined)),
    );
  addCommon(user.command('list')).description('list users with their balances').action(action('user list', (ops) => ops.listUsers()));

  const key = program.command('key').description('CoinEx API keys: create, revoke, list');
  addCommon(key.command('create'))
    .description('create an API key for a user (journaled CreateApiKey); prints access id and secret once')
    .requiredOption('-u, --user <id>', 'user id', userId)
    .option('--permissions <list>', 'comma-separated: read,trade', 'read,trade')
    .action(
      action('key create', (ops, opts) => {
        const o = opts as { user: string; permissions: string };
        return ops.createKey(o.user, o.permissions);
      }),
    );
  addCommon(key.command('revoke'))
    .description('revoke an API key (journaled RevokeApiKey)')
    .argument('<access-id>', 'the key\'s access id')
    .action(action('key revoke', (ops, _o, args) => ops.revokeKey(args[0]!)));
  addCommon(key.command('list'))
    .description('list a user\'s API keys (secrets are not shown)')
    .requiredOption('-u, --user <id>', 'user id', userId)
    .action(
      action('key list', (ops, o) => ops.listKeys(o.user as string)),
    );

  const address = program.command('address').description('withdrawal addresses: add, list');
  addCommon(address.command('add'))
    .description('whitelist a withdrawal address for a user and asset (journaled AddWithdrawalAddress)')
    .requiredOption('-u, --user <id>', 'user id', userId)
    .requiredOption('-a, --asset <asset>', 'asset name or code, e.g. XBT')
    .requiredOption('--address <address>', 'the destination address')
    .action(
      action('address add', (ops, opts) => {
        const o = opts as { user: string; asset: string; address: string };
        return ops.addAddress(o.user, o.asset, o.address);
      }),
    );
  addCommon(address.command('list'))
    .description('list a user\'s whitelisted withdrawal addresses')
    .requiredOption('-u, --user <id>', 'user id', userId)
    .action(
      action('address list', (ops, o) => ops.listAddresses(o.user as string)),
    );

  addCommon(program.command('deposit'))
    .description('credit a user\'s balance (journaled Deposit)')
    .requiredOption('-u, --user <id>', 'user id', userId)
    .requiredOption('-a, --asset <asset>', 'asset name or code, e.g. XBT')
    .requiredOption('--amount <decimal>', 'amount in whole units, e.g. 1.5 (at most the asset\'s decimals)')
    .action(
      action('deposit', (ops, opts) => {
        const o = opts as { user: string; asset: string; amount: string };
        return ops.deposit(o.user, o.asset, o.amount);
      }),
    );
  addCommon(program.command('withdraw'))
    .description('debit a user\'s balance to a whitelisted address (journaled Withdraw; refused for any other address)')
    .requiredOption('-u, --user <id>', 'user id', userId)
    .requiredOption('-a, --asset <asset>', 'asset name or code, e.g. XBT')
    .requiredOption('--amount <decimal>', 'amount in whole units, e.g. 1.5')
    .requiredOption('--address <address>', 'a whitelisted destination address')
    .action(
      action('withdraw', (ops, opts) => {
        const o = opts as { user: string; asset: string; amount: string; address: string };
        return ops.withdraw(o.user, o.asset, o.amount, o.address);
      }),
    );

  const asset = program.command('asset').description('assets: add');
  addCommon(asset.command('add'))
    .description('add an asset (journaled AddAsset)')
    .requiredOption('--code <n>', 'numeric asset code 1-65535 (SCALE.md, e.g. 63488 for XBT)', positiveInt('--code'))
    .requiredOption('--name <name>', 'asset name, e.g. DOGE')
    .requiredOption('--scale <n>', 'units per whole asset, a power of 10, e.g. 10000', positiveInt('--scale'))
    .action(
      action('asset add', (ops, opts) => {
        const o = opts as { code: number; name: string; scale: number };
        return ops.addAsset({ code: o.code, name: o.name, scale: o.scale });
      }),
    );

  const market = program.command('market').description('markets: add, list');
  addCommon(market.command('add'))
    .description('add a market (journaled AddMarket)')
    .requiredOption('--base <asset>', 'base asset name or code')
    .requiredOption('--counter <asset>', 'counter asset name or code')
    .requiredOption('--price-scale <n>', 'price units per whole counter-per-base, a power of 10', positiveInt('--price-scale'))
    .requiredOption('--tick <n>', 'tick size in scaled price units (SCALE.md tick × price scale)', positiveInt('--tick'))
    .addOption(new Option('--kind <kind>', 'spot or futures').choices(['spot', 'futures']).default('spot'))
    .option('--fees <tiers>', 'fee tiers "minVolume:makerPpm:takerPpm,…" (default 0:0:0)')
    .option('--spot-name <name>', 'underlying spot market, e.g. XBT:USDT (futures)')
    .option('--expires <time>', 'futures expiry: ISO date-time or epoch milliseconds')
    .option('--start <time>', 'futures first trade date: ISO date-time or epoch milliseconds')
    .option('--tenor <code>', 'futures tenor code, e.g. Z26')
    .action(
      action('market add', (ops, opts) => {
        const o = opts as {
          base: string;
          counter: string;
          priceScale: number;
          tick: number;
          kind: string;
          fees?: string;
          spotName?: string;
          expires?: string;
          start?: string;
          tenor?: string;
        };
        const m: Record<string, unknown> = {
          base: /^\d+$/.test(o.base) ? Number(o.base) : o.base,
          counter: /^\d+$/.test(o.counter) ? Number(o.counter) : o.counter,
          priceScale: o.priceScale,
          tick: o.tick,
          kind: o.kind,
        };
        if (o.fees !== undefined) m.fees = parseFees(o.fees);
        if (o.spotName !== undefined) m.spotName = o.spotName;
        if (o.tenor !== undefined) m.tenor = o.tenor;
        if (o.expires !== undefined) m.expires = parseTime(o.expires, '--expires');
        if (o.start !== undefined) m.start = parseTime(o.start, '--start');
        return ops.addMarket(m);
      }),
    );
  addCommon(market.command('list')).description('list markets').action(action('market list', (ops) => ops.listMarkets()));

  addCommon(program.command('status')).description('sequence number, users, markets, journal and recovery figures').action(action('status', (ops) => ops.status()));
  addCommon(program.command('snapshot')).description('take a snapshot now').action(action('snapshot', (ops) => ops.snapshot()));
  addCommon(program.command('verify'))
    .description('verify the journal and snapshots of the data directory (checksums, sequence, replay)')
    .action(action('verify', (ops) => ops.verify()));

  return program;
}

function parseFees(s: string): { minVolume: number; makerPpm: number; takerPpm: number }[] {
  return s.split(',').map((t, i) => {
    const m = /^\s*(\d+):(\d+):(\d+)\s*$/.exec(t);
    if (!m) throw new CliError(`fees: tier ${i + 1} ${JSON.stringify(t)} is not minVolume:makerPpm:takerPpm`, 2);
    return { minVolume: Number(m[1]), makerPpm: Number(m[2]), takerPpm: Number(m[3]) };
  });
}

function parseTime(s: string, name: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (!Number.isFinite(t)) throw new CliError(`${name}: ${JSON.stringify(s)} is neither an ISO date-time nor epoch milliseconds`, 2);
  return t;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`openfloor: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else if (err instanceof AdminError) {
      process.stderr.write(`openfloor: ${err.message}\n`);
      process.exitCode = err.status === 400 ? 2 : 1;
    } else {
      // Expected failures (data directory locked, corrupt journal, …) read best as one line.
      const debug = boolEnv(process.env.OPENFLOOR_DEBUG) === true;
      const text = err instanceof Error ? (debug ? (err.stack ?? err.message) : err.message) : String(err);
      process.stderr.write(`openfloor: ${text}${debug ? '' : ' (OPENFLOOR_DEBUG=1 shows the stack)'}\n`);
      process.exitCode = 1;
    }
  }
}

await main(process.argv);
