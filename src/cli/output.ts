// What the CLI prints: the start-up banner (every URL served, the fsync policy, demo
// credentials) and operator command results, readable by default or as JSON with --json.
import { join } from 'node:path';
import type { OpenfloorConfig } from '../server/config.js';
import type { RunningServer } from '../server/server.js';
import { ADMIN_TOKEN_FILE } from '../server/admin.js';

const DIALECT_LABELS: Record<string, string> = {
  'native-ws': 'Native WebSocket API (Coinfloor/CoinFLEX)',
  rest: 'REST API (CoinFLEX)',
  'event-stream': 'Event Stream (server-sent events)',
  bist: 'BIST (Bitstamp emulation)',
  coinex: 'CoinEx v2 API',
  ems: 'EMS order gateway',
};

const FSYNC_TEXT: Record<string, string> = {
  always: 'every group commit is fsynced before its reply leaves (survives power loss)',
  interval: 'written before the reply, fsynced every fsyncIntervalMs (a power loss can lose that much)',
  off: 'written, never fsynced (throwaway servers only)',
};

export function banner(server: RunningServer, config: OpenfloorConfig, version: string): string {
  const lines: string[] = [];
  const rows: [string, string][] = [];
  for (const e of server.endpoints) {
    const label = DIALECT_LABELS[e.dialect] ?? e.dialect;
    const urls: string[] = [];
    // "/v2/spot/" next to "/v2/spot" is the same endpoint to a reader.
    for (const p of e.paths) if (!(p.endsWith('/') && p.length > 1 && e.paths.includes(p.slice(0, -1)))) urls.push(server.wsUrl + p);
    for (const h of e.http) urls.push(`${server.url}${h}`);
    rows.push([label, urls.join('  ')]);
  }
  if (rows.length === 0) rows.push(['(no dialects available)', '']);
  rows.push(['Admin API', `${server.adminUrl}/admin/…  (token: ${join(config.dataDir, ADMIN_TOKEN_FILE)})`]);
  rows.push(['Metrics / health', `${server.adminUrl}/metrics  ${server.adminUrl}/healthz  ${server.adminUrl}/readyz`]);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  lines.push('');
  lines.push(`openfloor ${version} is serving${config.listen.host === '0.0.0.0' || config.listen.host === '::' ? ' on all interfaces' : ''}`);
  lines.push('');
  for (const [label, urls] of rows) lines.push(`  ${label.padEnd(width)}${urls}`);
  lines.push('');
  lines.push(`  data directory   ${config.dataDir}`);
  lines.push(`  fsync policy     ${config.fsync}: ${FSYNC_TEXT[config.fsync] ?? ''}`);
  const r = server.recovery;
  lines.push(`  recovery         from snapshot seq ${r.snapshotSeq}, replayed ${r.replayed} journal records in ${Math.round(r.ms)} ms`);
  if (server.demo) {
    const d = server.demo;
    lines.push('');
    lines.push('  Demo user (also in ' + d.file + ')');
    lines.push(`    user id      ${d.userId}`);
    lines.push(`    cookie       ${d.cookie}`);
    lines.push(`    passphrase   ${d.passphrase}`);
    lines.push(`    CoinEx key   access_id ${d.apiKey.accessId}`);
    lines.push(`                 secret_key ${d.apiKey.secretKey}`);
    lines.push(`    funded       ${Object.entries(d.funded).map(([a, v]) => `${v} ${a}`).join(', ')}`);
    lines.push(`    markets      ${d.markets.join(', ')}`);
  }
  lines.push('');
  lines.push('  Stop with Ctrl-C (SIGINT) or SIGTERM: in-flight commands finish and a snapshot is taken.');
  lines.push('');
  return lines.join('\n') + '\n';
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map((c) => fmt(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

function fmt(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(fmt).join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function printResult(label: string, result: unknown, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  process.stdout.write(render(label, result) + '\n');
}

function render(label: string, result: unknown): string {
  const r = result as Record<string, unknown>;
  switch (label) {
    case 'user create': {
      const lines = [`user ${fmt(r.userId)} created`, `  user id     ${fmt(r.userId)}`, `  cookie      ${fmt(r.cookie)}`];
      lines.push(`  passphrase  ${fmt(r.passphrase)}${r.generated ? '   (generated: hand it over now, the server keeps only the public key)' : ''}`);
      return lines.join('\n');
    }
    case 'user list': {
      const rows = (result as { id: number; publicKey: string; apiKeys: number; openOrders: number; balances: { asset: string; available: string; reserved: string }[] }[]).map((u) => ({
        id: u.id,
        apiKeys: u.apiKeys,
        openOrders: u.openOrders,
        balances: u.balances.map((b) => `${b.asset} ${b.available}${b.reserved !== '0' ? ` (+${b.reserved} reserved)` : ''}`).join(', '),
      }));
      return table(rows, ['id', 'apiKeys', 'openOrders', 'balances']);
    }
    case 'key create':
      return [`API key created for user ${fmt(r.userId)}`, `  access_id   ${fmt(r.accessId)}`, `  secret_key  ${fmt(r.secretKey)}   (shown once)`, `  permissions ${fmt(r.permissions)}`].join('\n');
    case 'key revoke':
      return `API key ${fmt(r.accessId)} revoked`;
    case 'key list':
      return table(result as Record<string, unknown>[], ['accessId', 'permissions', 'revoked']);
    case 'address add':
      return `withdrawal address ${fmt(r.address)} whitelisted for user ${fmt(r.userId)}, asset ${fmt(r.asset)}`;
    case 'address list':
      return table(result as Record<string, unknown>[], ['asset', 'address']);
    case 'deposit':
    case 'withdraw':
      return `${label === 'deposit' ? 'deposited' : 'withdrew'} ${fmt(r.amount)} ${fmt(r.asset)} ${label === 'deposit' ? 'to' : 'from'} user ${fmt(r.userId)}; available now ${fmt(r.available)} ${fmt(r.asset)}`;
    case 'asset add':
      return `asset ${fmt(r.name)} added (code ${fmt(r.code)}, scale ${fmt(r.scale)})`;
    case 'market add':
      return `market ${fmt(r.name)} added (${fmt(r.kind)}, price scale ${fmt(r.priceScale)}, tick ${fmt(r.tick)})`;
    case 'market list':
      return table(result as Record<string, unknown>[], ['name', 'kind', 'priceScale', 'tick', 'tickDecimal', 'restingOrders', 'tenor']);
    case 'status': {
      const lines = Object.entries(r).map(([k, v]) => `${k.padEnd(12)} ${fmt(v)}`);
      return lines.join('\n');
    }
    default:
      return JSON.stringify(result, null, 2);
  }
}
