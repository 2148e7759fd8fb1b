// The console's live state, pushed by the gateway over Server-Sent Events (GET /api/events):
// a snapshot on connect, then only what changed (see gateway/console/live.ts). Views
// subscribe to events and render at most once per frame.
//
// When the stream breaks, or stays silent past two heartbeats, the state is stale: `trusted()`
// turns false and views show every device's status as unknown instead of the last word,
// so a gateway that is down never leaves rows saying "online".
//
// Timing: for each `nodes` update the time from the event's arrival to the frame that
// painted it is kept (perf.updates, and a `console:update` performance measure), and for
// the first snapshot the time to its first paint (perf.firstRender): bench/console.ts reads them.
const SILENCE_MS = 12_000;
const PERF_KEEP = 2000;

/** Run fn after the next frame has been painted (rAF, then a task queued from it). */
export function afterPaint(fn) {
  requestAnimationFrame(() => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => fn();
    ch.port2.postMessage(null);
  });
}

export function createLive({ onLogout } = {}) {
  const state = {
    status: 'connecting', hello: null, nodes: new Map(), summary: null, alerts: { active: [], recent: [] },
    jobs: { running: [] }, batches: null, lastEventAt: 0,
  };
  const perf = { updates: [], firstRender: null, events: 0 };
  const subs = new Map();
  let es = null;
  let watchdog = null;
  let retry = null;
  let closed = false;

  const emit = (event, data) => { for (const fn of subs.get(event) ?? []) { try { fn(data); } catch (e) { console.error(e); } } };
  const setStatus = (s) => { if (state.status !== s) { state.status = s; emit('status', s); } };
  const measure = (name, start, list) => afterPaint(() => {
    const ms = performance.now() - start;
    try { performance.measure(name, { start, end: start + ms }); } catch { /* old browsers */ }
    if (list) { list.push(ms); if (list.length > PERF_KEEP) list.shift(); } else perf.firstRender = ms;
    if (performance.getEntriesByType('measure').length > PERF_KEEP) performance.clearMeasures();
  });

  const handlers = {
    hello: (d) => { state.hello = d; },
    nodes: (d, t0) => {
      if (d.full) state.nodes = new Map(d.nodes.map((n) => [n.id, n]));
      else {
        for (const n of d.nodes) state.nodes.set(n.id, n);
        for (const id of d.removed ?? []) state.nodes.delete(id);
      }
      emit('nodes', { full: d.full, ids: d.nodes.map((n) => n.id) });
      if (d.full && perf.firstRender === null) measure('console:first-render', t0, null);
      else measure('console:update', t0, perf.updates);
    },
    summary: (d) => { state.summary = d; emit('summary', d); },
    alerts: (d) => { state.alerts = d; emit('alerts', d); },
    jobs: (d) => { state.jobs = d; emit('jobs', d); },
    batches: (d) => { state.batches = d; emit('batches', d); },
    modules: (d) => emit('modules', d),
    history: (d) => emit('history', d),
    hb: () => {},
  };

  function connect() {
    if (closed) return;
    es = new EventSource('/api/events');
    for (const [name, h] of Object.entries(handlers)) {
      es.addEventListener(name, (ev) => {
        const t0 = performance.now();
        state.lastEventAt = Date.now();
        perf.events++;
        if (state.status !== 'live') setStatus('live');
        let data;
        try { data = JSON.parse(ev.data); } catch { return; }
        h(data, t0);
      });
    }
    es.addEventListener('logout', () => { close(); onLogout?.(); });
    es.onerror = () => {
      setStatus('stale');
      if (es.readyState === EventSource.CLOSED) reconnectSoon();
    };
    clearInterval(watchdog);
    watchdog = setInterval(() => {
      if (state.status === 'live' && Date.now() - state.lastEventAt > SILENCE_MS) {
        // Silent without a close (a dead network path): stop trusting what is on screen.
        setStatus('stale');
        es.close();
        reconnectSoon();
      }
    }, 2000);
  }

  function reconnectSoon() {
    clearTimeout(retry);
    retry = setTimeout(() => { es?.close(); connect(); }, 2000);
  }

  function close() {
    closed = true;
    es?.close();
    clearInterval(watchdog);
    clearTimeout(retry);
  }

  return {
    state, perf,
    on(event, fn) {
      if (!subs.has(event)) subs.set(event, new Set());
      subs.get(event).add(fn);
      return () => subs.get(event).delete(fn);
    },
    /** Is what is on screen current: the stream live and the gateway's MQTT link up. */
    trusted: () => state.status === 'live' && state.summary?.gateway?.mqtt !== false,
    connect, close,
  };
}
