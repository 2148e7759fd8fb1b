// Small DOM and formatting helpers shared by every view. No inline script or style: the
// gateway's CSP forbids them, so styles go through CSSOM (element.style) or classes.
export const $ = (sel, root = document) => root.querySelector(sel);

/** el('tr', {class: 'x', onclick: fn, 'data-node': id}, child, 'text', ...) */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Set text only when it changed (no layout work for cells that did not move). */
export function setText(e, text) {
  const t = text == null ? '' : String(text);
  if (e.textContent !== t) e.textContent = t;
}

export function setClass(e, cls) {
  if (e.className !== cls) e.className = cls;
}

export const short = (id, n = 10) => (id ? String(id).slice(0, n) : '–');
// One formatter per precision: toLocaleString builds a new Intl.NumberFormat on every call,
// which made a live table of 50 rows cost tens of milliseconds per update.
const formats = [];
export function num(n, d = 0) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const f = (formats[d] ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 }));
  return f.format(n);
}
export function si(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const u = [['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3]].find(([, v]) => Math.abs(n) >= v);
  return u ? `${(n / u[1]).toFixed(1)}${u[0]}` : num(n);
}
export function ago(t, now = Date.now()) {
  if (!t) return '–';
  const s = Math.max(0, Math.round((now - t) / 1000));
  // Seconds for recent times would change every row's text every second (a device that
  // advertises often is simply "just now").
  if (s < 10) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
let dateFormat = null;
export const when = (t) => (t ? (dateFormat ??= new Intl.DateTimeFormat('en-GB', { dateStyle: 'short', timeStyle: 'medium', hour12: false })).format(t) : '–');
export const temp = (c) => (c == null ? '–' : `${num(c, 1)} °C`);

/** Raspberry Pi firmware throttled bits (now): names of the ones set. */
export function throttleNames(bits) {
  if (bits == null) return null;
  const names = [];
  if (bits & 1) names.push('under-voltage');
  if (bits & 2) names.push('frequency capped');
  if (bits & 4) names.push('throttled');
  if (bits & 8) names.push('soft temperature limit');
  return names;
}

/** Debounce to the next animation frame: many calls, one run per frame. */
export function perFrame(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; fn(); });
  };
}

/** A labelled value for fact grids. */
export const fact = (label, value, cls) => el('div', { class: 'fact' }, el('div', { class: 'label' }, label), el('div', { class: `value ${cls ?? ''}` }, value));

export function message(container, text, cls = 'muted') {
  container.replaceChildren(el('p', { class: cls }, text));
}

/** At most one run per `ms` (the last call is not lost: it runs when the time is up). */
export function throttle(ms, fn) {
  let last = 0;
  let timer = null;
  return () => {
    const wait = last + ms - Date.now();
    if (wait <= 0 && !timer) { last = Date.now(); fn(); return; }
    if (!timer) timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, Math.max(0, wait));
  };
}

/** replaceChildren without the DOM's habit of writing null and undefined as text. */
export function fill(parent, ...children) {
  parent.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return parent;
}
