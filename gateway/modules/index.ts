/**
 * The gateway's modules: the built-in catalogue plus the registry of published modules.
 * One place answers what a job may name (a catalogue name, a module hash, `name@version`,
 * or a bare registry name for its latest version), the bytes behind a hash (for
 * re-execution), the listing the API and dashboard show, and the set of modules to keep
 * retained on `swarm/v1/modules/{sha256}` (announced on every MQTT (re)connect and at once
 * when a module is published).
 */
import { fromHex } from '../../protocol/hash.js';
import { describeLayout, LayoutError, parseTaskLayout, type TaskLayout } from '../../protocol/layout.js';
import { MODULE_NAME, MODULE_NAME_RULE, MODULE_VERSION, MODULE_VERSION_RULE } from '../../protocol/module-ref.js';
import type { TaskRunner } from '../../agent/runtime/types.js';
import type { Logger } from '../../util/log.js';
import type { Db } from '../sqlite.js';
import type { ModuleRef } from '../engine.js';
import type { CatalogueEntryLike } from '../runtime.js';
import { admitForRegistry } from './admission.js';
import { RegistryTables, type VersionRow } from './registry.js';

const HASH = /^[0-9a-f]{64}$/i;

export interface ModuleView {
  /** What a job names to run it: the catalogue name, or `name@version`. */
  ref: string;
  name: string;
  version: string | null;
  hash: string;
  size: number;
  description: string;
  source: 'catalogue' | 'registry';
  publishedAt: number | null;
  publishedBy: string | null;
  /** Typed input and output (protocol/layout.ts); null when the module declares none. */
  layout: TaskLayout | null;
  /** The layout in one line each ("m u32, a f32[m*k]"), for listings. */
  summary: { input: string; output: string } | null;
}

/** A publish that is refused: `status` is the HTTP answer, `kind` the reason's class. */
export class ModuleRefused extends Error {
  override readonly name = 'ModuleRefused';
  constructor(readonly status: number, readonly kind: string, message: string) {
    super(message);
  }
}

export interface PublishRequest {
  name: string;
  version: string;
  wasm: Uint8Array;
  description?: string;
  layout?: unknown;
  /** Who publishes (the operator's name). */
  by: string;
}

export interface RegistryLimits {
  /** Most modules (distinct hashes) the registry keeps (default 100). */
  maxModules: number;
  /** Most bytes of module code it keeps (default 64 MiB): every module stays retained on the broker too. */
  maxBytes: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = { maxModules: 100, maxBytes: 64 * 1024 * 1024 };
/** Publishes admitted at once; more are refused (429) rather than queued in memory. */
const MAX_ADMITTING = 4;

export interface Announcement { name: string; hash: Uint8Array; hashHex: string; wasm: Uint8Array; description: string }

export class Modules {
  private readonly tables: RegistryTables;
  private readonly byName: Map<string, CatalogueEntryLike & { layout?: TaskLayout }>;
  private readonly byHash: Map<string, CatalogueEntryLike & { layout?: TaskLayout }>;
  private readonly limits: RegistryLimits;
  /** Publishes being admitted now: each holds a module and costs an instrumentation. */
  private admitting = 0;
  /** Called with each newly stored module once its commit is on disk (publish it on MQTT). */
  onPublished: (a: Announcement) => void = () => {};

  constructor(private readonly o: {
    db: Db;
    catalogue: ReadonlyArray<CatalogueEntryLike & { layout?: TaskLayout }>;
    /** The runtime's pool (admission dry runs); null = no runtime here, nothing can be published. */
    runner: TaskRunner | null;
    caps: { memoryPages: number; timeoutMs: number };
    /** Resolves once everything committed so far is on disk. */
    synced: () => Promise<void>;
    log: Logger;
    limits?: Partial<RegistryLimits>;
  }) {
    this.tables = new RegistryTables(o.db);
    this.byName = new Map(o.catalogue.map((e) => [e.name, e]));
    this.byHash = new Map(o.catalogue.map((e) => [e.hashHex, e]));
    this.limits = { ...DEFAULT_REGISTRY_LIMITS, ...(o.limits ?? {}) };
  }

  /** What a job's `task` names, or undefined. */
  resolve = (ref: string): ModuleRef | undefined => {
    const v = this.view(ref);
    return v ? { name: v.ref, hash: fromHex(v.hash), hashHex: v.hash } : undefined;
  };

  /** A module's bytes by hash (catalogue or registry), for re-execution. */
  wasm = (hex: string): Uint8Array | undefined => this.byHash.get(hex)?.wasm ?? this.tables.wasm(hex);

  view(ref: string): ModuleView | undefined {
    const cat = this.byName.get(ref) ?? (HASH.test(ref) ? this.byHash.get(ref.toLowerCase()) : undefined);
    if (cat) return catalogueView(cat);
    let row: VersionRow | undefined;
    if (HASH.test(ref)) row = this.tables.byHash(ref.toLowerCase());
    else {
      const at = ref.indexOf('@');
      const name = at < 0 ? ref : ref.slice(0, at);
      if (!MODULE_NAME.test(name)) return undefined;
      if (at < 0) row = this.tables.latest(name);
      else if (MODULE_VERSION.test(ref.slice(at + 1))) row = this.tables.version(name, ref.slice(at + 1));
    }
    return row ? registryView(row) : undefined;
  }

  /** The catalogue, then published versions, newest first. */
  list(limit = 200): ModuleView[] {
    return [...this.o.catalogue.map(catalogueView), ...this.tables.list(limit).map(registryView)];
  }

  /** Every module to keep retained: the catalogue and each distinct registry module. */
  *announcements(): Generator<Announcement> {
    for (const e of this.o.catalogue) yield { name: e.name, hash: e.hash, hashHex: e.hashHex, wasm: e.wasm, description: e.description ?? '' };
    for (const hex of this.tables.hashes()) {
      if (this.byHash.has(hex)) continue;
      const row = this.tables.byHash(hex);
      const wasm = this.tables.wasm(hex);
      if (row && wasm) yield announcementOf(row, wasm);
    }
  }

  /**
   * Admit and store `name@version`. Resolves with the view and whether it is new (a second
   * publish of the very same bytes under the same name and version changes nothing).
   */
  async publish(req: PublishRequest, now = Date.now()): Promise<{ created: boolean; view: ModuleView }> {
    if (!MODULE_NAME.test(req.name)) throw new ModuleRefused(400, 'bad-name', MODULE_NAME_RULE);
    if (!MODULE_VERSION.test(req.version)) throw new ModuleRefused(400, 'bad-version', MODULE_VERSION_RULE);
    if (this.byName.has(req.name)) throw new ModuleRefused(409, 'name-taken', `${req.name} is a built-in catalogue task; publish under another name`);
    const description = req.description ?? '';
    if (description.length > 1024) throw new ModuleRefused(400, 'bad-description', 'description is over 1024 characters');
    let layout: TaskLayout | null = null;
    if (req.layout !== undefined && req.layout !== null) {
      try { layout = parseTaskLayout(req.layout); } catch (e) { throw new ModuleRefused(400, 'bad-layout', (e as LayoutError).message); }
    }
    if (!this.o.runner) throw new ModuleRefused(503, 'no-runtime', 'this gateway has no task runtime, so it cannot admit modules');
    if (this.admitting >= MAX_ADMITTING) throw new ModuleRefused(429, 'busy', `${MAX_ADMITTING} modules are being admitted; try again shortly`);
    this.admitting++;
    let admitted;
    try {
      admitted = await admitForRegistry(req.wasm, this.o.runner, this.o.caps);
    } finally {
      this.admitting--;
    }
    if (!admitted.ok) throw new ModuleRefused(422, admitted.kind, `module refused (${admitted.kind}): ${admitted.message}`);
    const hash = Buffer.from(admitted.hash).toString('hex');
    // Checked again after the await: another publish may have landed meanwhile.
    const existing = this.tables.version(req.name, req.version);
    if (existing) {
      if (existing.hash === hash) return { created: false, view: registryView(existing) };
      throw new ModuleRefused(409, 'version-taken', `${req.name}@${req.version} is already published with other code (${existing.hash.slice(0, 16)}…); versions never change: publish a new version`);
    }
    const fresh = !this.byHash.has(hash) && this.tables.wasm(hash) === undefined;
    if (fresh) {
      const t = this.tables.totals();
      if (t.modules + 1 > this.limits.maxModules || t.bytes + req.wasm.length > this.limits.maxBytes) {
        throw new ModuleRefused(507, 'registry-full', `the registry is full (${t.modules} modules, ${t.bytes} bytes; limits ${this.limits.maxModules} modules, ${this.limits.maxBytes} bytes)`);
      }
    }
    this.tables.insert({ name: req.name, version: req.version, hash, wasm: req.wasm, description, layout, by: req.by, at: now });
    await this.o.synced();
    const row = this.tables.version(req.name, req.version)!;
    this.o.log.info({ module: `${req.name}@${req.version}`, hash, size: req.wasm.length, by: req.by }, 'module published');
    if (fresh) this.onPublished(announcementOf(row, req.wasm));
    return { created: true, view: registryView(row) };
  }
}

const summary = (l: TaskLayout | null): ModuleView['summary'] => (l ? { input: describeLayout(l.input), output: describeLayout(l.output) } : null);

function catalogueView(e: CatalogueEntryLike & { layout?: TaskLayout }): ModuleView {
  return {
    ref: e.name, name: e.name, version: null, hash: e.hashHex, size: e.wasm.length, description: e.description ?? '', source: 'catalogue',
    publishedAt: null, publishedBy: null, layout: e.layout ?? null, summary: summary(e.layout ?? null),
  };
}

function registryView(r: VersionRow): ModuleView {
  const layout = r.layout ? (JSON.parse(r.layout) as TaskLayout) : null;
  return {
    ref: `${r.name}@${r.version}`, name: r.name, version: r.version, hash: r.hash, size: r.size, description: r.description, source: 'registry',
    publishedAt: r.published_at, publishedBy: r.published_by, layout, summary: summary(layout),
  };
}

function announcementOf(r: VersionRow, wasm: Uint8Array): Announcement {
  return { name: `${r.name}@${r.version}`, hash: fromHex(r.hash), hashHex: r.hash, wasm, description: r.description };
}
