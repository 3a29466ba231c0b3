// Prometheus metrics on an own registry, served at GET /metrics on the admin listener.
// This module imports nothing from the server or the dialects, so any module may import it:
//   import { metrics } from '../../server/metrics.js';
//   metrics.connectionOpened('event-stream'); … metrics.connectionClosed('event-stream');
//   metrics.rejected('coinex', 'RATE_LIMIT');
// WebSocket connections are counted by the server itself (server.ts); dialects only report
// connections the server cannot see (long-lived HTTP streams) and rejections they decide alone.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Read-only views the scrape-time gauges need; attached by the server while it runs. */
export interface MetricsSources {
  /** Resting orders per market, keyed by market name ("XBT:USDT"). */
  restingOrders?: () => Map<string, number>;
  /** Cumulative journal statistics (from the sequencer). */
  journal?: () => JournalStatsLike;
  /** Last applied sequence number. */
  lastSeq?: () => number;
}

/** The sequencer's statistics this module reads (SequencerStats, src/server/sequencer.ts); fields it lacks are skipped. */
export interface JournalStatsLike {
  commands?: number;
  appends?: number;
  fsyncs?: number;
  loopFsyncs?: number;
  appendedBytes?: number;
  /** Cumulative seconds in journal writes / fdatasyncs. */
  appendSeconds?: number;
  fsyncSeconds?: number;
  lastAppendMs?: number;
  lastFsyncMs?: number;
  maxBatch?: number;
  snapshots?: number;
  snapshotFailures?: number;
  snapshotBuffersWarmed?: number;
  lastSnapshotSeq?: number;
  lastSnapshotMs?: number;
  durableSeq?: number;
}

const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface HistogramValue {
  value: number;
  metricName: string;
  exemplar?: null;
  labels: Record<string, string | number>;
}

interface LatencySeries {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram with one label, cheap enough to observe once per command on the hot path: an
 * observation is a short bucket search and three additions on a per-label record, with no label
 * object, hashing or validation (prom-client's Histogram costs ~1-2 µs per observe). It registers
 * itself in a prom-client Registry and renders exactly like prom-client's own histograms
 * (_bucket{le=…} cumulative, _sum, _count).
 */
export class FastHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, LatencySeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: L,
    private readonly bounds: readonly number[],
    registers: Registry[],
  ) {
    for (const r of registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** Records one value for the label value `label`. */
  observe(label: string, value: number): void {
    let s = this.series.get(label);
    if (s === undefined) this.series.set(label, (s = { buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    s.buckets[i]!++;
    s.sum += value;
    s.count++;
  }

  reset(): void {
    this.series.clear();
  }

  /** The values prom-client's Registry renders (see prom-client's Histogram.get). */
  get(): { name: string; help: string; type: string; values: HistogramValue[]; aggregator: string } {
    const values: HistogramValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [label, s] of this.series) {
      let cum = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cum += s.buckets[i]!;
        values.push({ value: cum, metricName: bucket, exemplar: null, labels: { le: this.bounds[i]!, [this.labelName]: label } });
      }
      cum += s.buckets[this.bounds.length]!;
      values.push({ value: cum, metricName: bucket, exemplar: null, labels: { le: '+Inf', [this.labelName]: label } });
      values.push({ value: s.sum, metricName: `${this.name}_sum`, labels: { [this.labelName]: label } });
      values.push({ value: s.count, metricName: `${this.name}_count`, labels: { [this.labelName]: label } });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class Metrics {
  readonly registry = new Registry();
  private sources: MetricsSources = {};
  private readonly loop: IntervalHistogram;

  readonly commands: Counter<'type' | 'result'>;
  readonly commandLatency: FastHistogram<'type'>;
  /** Commands applied since the last scrape, by type then result (folded into `commands` at scrape time). */
  private readonly pendingCommands = new Map<string, Map<string, number>>();
  readonly rejects: Counter<'code' | 'source'>;
  readonly connectionsOpen: Gauge<'dialect'>;
  readonly connectionsTotal: Counter<'dialect'>;
  readonly journalAppendLatency: Histogram;
  readonly journalFsyncLatency: Histogram;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'openfloor_process_' });
    const drainCommands = (): void => this.drainCommands();
    this.commands = new Counter({
      name: 'openfloor_commands_total',
      help: 'Commands applied by the engine, by command type and result (ok or an error code name).',
      labelNames: ['type', 'result'],
      registers,
      collect() {
        drainCommands();
      },
    });
    this.commandLatency = new FastHistogram(
      'openfloor_command_latency_seconds',
      'Time from submit to durable application of a command, by command type.',
      'type',
      LATENCY_BUCKETS,
      registers,
    );
    this.rejects = new Counter({
      name: 'openfloor_rejects_total',
      help: 'Rejected requests by error code and by where they were rejected (engine or a dialect name).',
      labelNames: ['code', 'source'],
      registers,
    });
    this.connectionsOpen = new Gauge({
      name: 'openfloor_connections_open',
      help: 'Open client connections per dialect.',
      labelNames: ['dialect'],
      registers,
    });
    this.connectionsTotal = new Counter({
      name: 'openfloor_connections_total',
      help: 'Client connections accepted per dialect since start.',
      labelNames: ['dialect'],
      registers,
    });
    this.journalAppendLatency = new Histogram({
      name: 'openfloor_journal_append_latency_seconds',
      help: 'Journal batch write latency (from the sequencer statistics).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.journalFsyncLatency = new Histogram({
      name: 'openfloor_journal_fsync_latency_seconds',
      help: 'Journal fsync latency (from the sequencer statistics).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    // prom-client calls collect() with the metric as `this`; the sources are read through this getter.
    const sources = (): MetricsSources => this.sources;
    new Gauge({
      name: 'openfloor_resting_orders',
      help: 'Orders resting on the book, per market.',
      labelNames: ['market'],
      registers,
      collect() {
        this.reset();
        const f = sources().restingOrders;
        if (!f) return;
        for (const [market, n] of f()) this.set({ market }, n);
      },
    });
    new Gauge({
      name: 'openfloor_last_seq',
      help: 'Sequence number of the last applied command.',
      registers,
      collect() {
        const f = sources().lastSeq;
        if (f) this.set(f());
      },
    });
    const journalGauge = (name: string, help: string, pick: (s: JournalStatsLike) => number | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const f = sources().journal;
          const v = f ? pick(f()) : undefined;
          if (v !== undefined && Number.isFinite(v)) this.set(v);
        },
      });
    journalGauge('openfloor_journal_commands', 'Commands made durable by this process.', (s) => s.commands);
    journalGauge('openfloor_journal_appends', 'Group-commit appends (one write each) since start.', (s) => s.appends);
    journalGauge('openfloor_journal_bytes', 'Bytes appended to the journal since start.', (s) => s.appendedBytes);
    journalGauge('openfloor_journal_append_seconds_total', 'Cumulative seconds spent in journal writes.', (s) => s.appendSeconds);
    journalGauge('openfloor_journal_fsync_seconds_total', 'Cumulative seconds spent in journal fdatasync.', (s) => s.fsyncSeconds);
    journalGauge('openfloor_journal_fsyncs', 'fsync calls on the journal since start.', (s) => s.fsyncs);
    journalGauge('openfloor_journal_loop_fsyncs', 'Of the journal fsyncs, those done on the event loop (small batches at a moderate rate).', (s) => s.loopFsyncs);
    journalGauge('openfloor_journal_max_batch', 'Largest group-commit batch (commands) since start.', (s) => s.maxBatch);
    journalGauge('openfloor_journal_durable_seq', 'Highest durable sequence number.', (s) => s.durableSeq);
    journalGauge('openfloor_snapshots', 'Snapshots taken since start.', (s) => s.snapshots);
    journalGauge('openfloor_snapshot_failures', 'Snapshots that failed since start.', (s) => s.snapshotFailures);
    journalGauge('openfloor_snapshot_buffers_warmed', 'Snapshot buffers pre-faulted off the event loop since start.', (s) => s.snapshotBuffersWarmed);
    journalGauge('openfloor_last_snapshot_seq', 'Sequence number covered by the latest snapshot.', (s) => s.lastSnapshotSeq);
    journalGauge('openfloor_last_snapshot_seconds', 'Wall time of the latest snapshot.', (s) => (s.lastSnapshotMs === undefined ? undefined : s.lastSnapshotMs / 1000));

    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
    const loop = this.loop;
    new Gauge({
      name: 'openfloor_event_loop_lag_seconds',
      help: 'Event-loop delay since the previous scrape: p50, p99 and max.',
      labelNames: ['quantile'],
      registers,
      collect() {
        this.set({ quantile: '0.5' }, loop.percentile(50) / 1e9);
        this.set({ quantile: '0.99' }, loop.percentile(99) / 1e9);
        this.set({ quantile: '1' }, loop.max / 1e9);
        loop.reset();
      },
    });
  }

  /** Attaches the running server's read-only views; returns the detach function. */
  attach(sources: MetricsSources): () => void {
    this.sources = sources;
    this.seenAppends = 0;
    this.seenFsyncs = 0;
    return () => {
      if (this.sources === sources) this.sources = {};
    };
  }

  connectionOpened(dialect: string): void {
    this.connectionsOpen.inc({ dialect });
    this.connectionsTotal.inc({ dialect });
  }

  connectionClosed(dialect: string): void {
    this.connectionsOpen.dec({ dialect });
  }

  /** A request refused before or by the engine; `code` is an ErrorCode name (e.g. "RATE_LIMIT") or a dialect's own code. */
  rejected(source: string, code: string | number): void {
    this.rejects.inc({ source, code: String(code) });
  }

  /**
   * Records one applied command (called by the server for every command it submits). Hot path:
   * counts are kept in plain maps and folded into the prom-client counter at scrape time.
   */
  commandApplied(type: string, result: string, seconds: number): void {
    let byResult = this.pendingCommands.get(type);
    if (byResult === undefined) this.pendingCommands.set(type, (byResult = new Map()));
    byResult.set(result, (byResult.get(result) ?? 0) + 1);
    this.commandLatency.observe(type, seconds);
  }

  private drainCommands(): void {
    for (const [type, byResult] of this.pendingCommands) {
      for (const [result, n] of byResult) if (n > 0) this.commands.inc({ type, result }, n);
      byResult.clear();
    }
  }

  private seenAppends = 0;
  private seenFsyncs = 0;

  /**
   * Feeds the append/fsync latency histograms from the sequencer's statistics: called after
   * each applied command, it observes the latest batch figures once per new append / fsync.
   */
  observeJournal(stats: JournalStatsLike): void {
    const { appends, fsyncs, lastAppendMs, lastFsyncMs } = stats;
    if (appends !== undefined && appends !== this.seenAppends) {
      if (appends > this.seenAppends && lastAppendMs !== undefined) this.journalAppendLatency.observe(lastAppendMs / 1000);
      this.seenAppends = appends;
    }
    if (fsyncs !== undefined && fsyncs !== this.seenFsyncs) {
      if (fsyncs > this.seenFsyncs && lastFsyncMs !== undefined) this.journalFsyncLatency.observe(lastFsyncMs / 1000);
      this.seenFsyncs = fsyncs;
    }
  }

  contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The process-wide instance (one server per process in production). */
export const metrics = new Metrics();

export function connectionOpened(dialect: string): void {
  metrics.connectionOpened(dialect);
}

export function connectionClosed(dialect: string): void {
  metrics.connectionClosed(dialect);
}

export function rejected(source: string, code: string | number): void {
  metrics.rejected(source, code);
}
