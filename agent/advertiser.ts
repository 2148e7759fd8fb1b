/**
 * Reads the sensors on a timer, keeps the capacity snapshot current, and publishes the
 * signed, retained capacity advert: at once when its state changes (thermal state,
 * whether work is accepted), at most every `minAdvertGapMs` when only the free-slot count
 * moves (it moves twice per task: one advert per change cost a signature, a broker
 * round and a gateway verification per task, for a number the gateway's fast path tracks
 * itself through its own leases), and otherwise every `advertIntervalMs`, so a gateway
 * that lost it still sees the node, and a stale advert shows its age.
 */
import { seal } from '../protocol/envelope.js';
import type { Identity } from '../protocol/identity.js';
import { MAX_FORECAST, type CapacityAdvert } from '../protocol/messages.js';
import { topics } from '../protocol/topics.js';
import { lean } from './signer.js';
import type { Logger } from '../util/log.js';
import type { CapacitySnapshot, SensorReading, SensorSource } from './capacity/types.js';

/** What the advertiser needs of the capacity layer's CapacityTracker. */
export interface CapacityModel {
  update(reading: SensorReading, busySlots: number, running?: number): CapacitySnapshot;
}

export interface AdvertiserOptions {
  identity: Identity;
  region: string;
  sensors: SensorSource;
  capacity: CapacityModel;
  /** Tasks running plus queued. */
  busy: () => number;
  /** Tasks running (default: busy). */
  running?: () => number;
  priceFloor: number;
  location: { lat: number; lon: number } | null;
  profile: string;
  /** The agent's version, sent in every advert. */
  version?: string;
  /** Largest fuel and memory this device gives one task (advertised; see CapacityAdvert.limits). */
  limits: { fuel: number; memoryPages: number };
  sampleIntervalMs: number;
  advertIntervalMs: number;
  /** Free-slot-only changes are coalesced to at most one advert per this many ms (default 1000). */
  minAdvertGapMs?: number;
  publish: (topic: string, payload: Uint8Array) => Promise<boolean>;
  /** A reason the agent takes no work regardless of capacity (draining, outbox full), or null. */
  refusal: () => string | null;
  onAdvert: (advert: CapacityAdvert) => void;
  /** After every evaluation (the agent applies the clock and starts queued work the budget now allows). */
  onEvaluate?: (snap: CapacitySnapshot) => void;
  logger: Logger;
}

export const DEFAULT_MIN_ADVERT_GAP_MS = 1000;

const clampTemp = (t: number | null): number | null => (t === null || !Number.isFinite(t) ? null : Math.max(-60, Math.min(200, t)));
/** A finite number clamped to [min, max], or null. */
const finiteIn = (x: number | null | undefined, min: number, max: number): number | null =>
  (typeof x === 'number' && Number.isFinite(x) ? Math.max(min, Math.min(max, x)) : null);

export class Advertiser {
  private reading: SensorReading | null = null;
  private snap: CapacitySnapshot | null = null;
  private seq = 0;
  private lastKey = '';
  private lastSlots = -1;
  private lastSentAt = 0;
  private slotTimer: NodeJS.Timeout | null = null;
  private sampleTimer: NodeJS.Timeout | null = null;
  private reading$: Promise<void> | null = null;
  private stopped = false;
  private overHard = false;
  private readonly s = { samples: 0, adverts: 0, sensorErrors: 0 };

  constructor(private readonly o: AdvertiserOptions) {}

  /** Take the first reading, then sample on a timer. */
  async start(): Promise<void> {
    await this.sample();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.sampleTimer = setTimeout(() => {
      this.sampleTimer = null;
      void this.sample().finally(() => this.schedule());
    }, this.o.sampleIntervalMs);
  }

  private sample(): Promise<void> {
    this.reading$ ??= (async () => {
      try {
        this.reading = await this.o.sensors.read();
        this.s.samples++;
      } catch (e) {
        // A sensor failing is not fatal: keep the previous reading and say so once per failure.
        this.s.sensorErrors++;
        this.o.logger.warn({ err: (e as Error).message }, 'sensor read failed');
      }
      this.evaluate();
    })().finally(() => { this.reading$ = null; });
    return this.reading$;
  }

  /** Recompute capacity (e.g. when a task starts or ends) and advertise if it changed or is due. */
  evaluate(force = false): void {
    if (!this.reading || this.stopped) return;
    this.snap = this.o.capacity.update(this.reading, this.o.busy(), this.o.running?.());
    this.o.onEvaluate?.(this.snap);
    const refused = this.o.refusal();
    // Advertise no free slot then: a gateway's fast path assigns straight from adverts.
    if (refused) this.snap = { ...this.snap, accepts: false, freeSlots: 0, reason: refused };
    if (this.snap.overHardLimit && !this.overHard) {
      // The runner cannot stop a task midway; it ends at its own fuel/time limit. Say so loudly.
      this.o.logger.error({ tempC: this.snap.tempC, running: this.o.busy() }, 'over the hard thermal limit: taking no work until it cools');
    }
    this.overHard = this.snap.overHardLimit === true;
    const key = this.stateKey();
    const sinceLast = Date.now() - this.lastSentAt;
    if (force || sinceLast >= this.o.advertIntervalMs || key !== this.lastKey) {
      this.sendNow();
      return;
    }
    if (this.snap.freeSlots === this.lastSlots || this.slotTimer) return;
    const gap = Math.min(this.o.minAdvertGapMs ?? DEFAULT_MIN_ADVERT_GAP_MS, this.o.advertIntervalMs);
    if (sinceLast >= gap) { this.sendNow(); return; }
    // Only the free-slot count moved: one advert at the end of the gap carries the latest count.
    this.slotTimer = setTimeout(() => {
      this.slotTimer = null;
      if (!this.stopped && this.snap && this.snap.freeSlots !== this.lastSlots) this.sendNow();
    }, gap - sinceLast);
    this.slotTimer.unref?.();
  }

  /**
   * What must go out at once: the thermal state, whether work is refused while slots
   * are free (thermal forecast, battery, draining, outbox full), and the task budget (a
   * gateway fills a node up to it). "No free slot" because every slot is busy is a free-slot
   * change like any other (the tracker reports it as accepts=false, which would otherwise
   * flap with every task under load).
   */
  private stateKey(): string {
    const s = this.snap!;
    return `${s.state}|${!s.accepts && this.o.busy() < s.slots}|${s.budget ?? s.slots}`;
  }

  private sendNow(): void {
    if (this.slotTimer) { clearTimeout(this.slotTimer); this.slotTimer = null; }
    this.lastKey = this.stateKey();
    this.lastSlots = this.snap!.freeSlots;
    void this.advertise();
  }

  snapshot(): CapacitySnapshot | null {
    return this.snap;
  }

  temperature(): number | null {
    return clampTemp(this.reading?.tempC ?? null);
  }

  stats() {
    return { ...this.s, state: this.snap?.state ?? null, accepts: this.snap?.accepts ?? false, tempC: this.temperature() };
  }

  build(): CapacityAdvert | null {
    const r = this.reading;
    const c = this.snap;
    if (!r || !c) return null;
    return {
      nodeId: this.o.identity.nodeId,
      region: this.o.region,
      seq: ++this.seq,
      at: Date.now(),
      state: c.state,
      tempC: clampTemp(r.tempC),
      throttled: r.throttled ? { now: r.throttled.now, sinceBoot: r.throttled.sinceBoot } : null,
      load: r.load !== null && Number.isFinite(r.load) ? Math.max(0, Math.min(1024, r.load)) : 0,
      memFreeMb: r.memFreeMb !== null && Number.isFinite(r.memFreeMb) ? Math.max(0, Math.round(r.memFreeMb)) : 0,
      power: { source: r.power.source, batteryPct: r.power.batteryPct === null ? null : Math.max(0, Math.min(100, r.power.batteryPct)) },
      slots: c.slots,
      freeSlots: c.freeSlots,
      fuelRate: Math.max(0, c.fuelRate),
      headroom: Math.max(0, Math.min(1, c.headroom)),
      priceFloor: this.o.priceFloor,
      location: this.o.location,
      profile: this.o.profile.slice(0, 64),
      sources: this.o.sensors.sources.slice(0, 32).map((s) => s.slice(0, 64)),
      ...(this.o.version ? { version: this.o.version.slice(0, 32) } : {}),
      thermal: {
        clock: finiteIn(r.cpuFreqRatio, 0, 1) ?? 1,
        budget: Math.max(0, Math.min(c.slots, c.budget ?? c.slots)),
        sustain: c.sustain ? c.sustain.slice(0, MAX_FORECAST).map((x) => finiteIn(x, 0, 1) ?? 0) : null,
        sprintS: c.sprintS ? c.sprintS.slice(0, MAX_FORECAST).map((x) => finiteIn(x, 0, 86_400) ?? 0) : null,
        trendCPerMin: finiteIn(c.trendCPerMin, -1000, 1000),
      },
      limits: { fuel: this.o.limits.fuel, memoryPages: this.o.limits.memoryPages },
    };
  }

  /** Publish the current advert (retained). Skipped quietly while offline. */
  async advertise(): Promise<boolean> {
    const advert = this.build();
    if (!advert) return false;
    let payload: Uint8Array;
    try {
      payload = seal('cap', advert, this.o.identity, lean).bytes;
    } catch (e) {
      this.o.logger.error({ err: (e as Error).message }, 'cannot seal capacity advert');
      return false;
    }
    this.lastSentAt = Date.now();
    const ok = await this.o.publish(topics.cap(this.o.region, this.o.identity.nodeId), payload);
    if (ok) {
      this.s.adverts++;
      this.o.onAdvert(advert);
    }
    return ok;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sampleTimer) clearTimeout(this.sampleTimer);
    if (this.slotTimer) { clearTimeout(this.slotTimer); this.slotTimer = null; }
    await this.reading$;
  }
}
