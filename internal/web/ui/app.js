// The viewer page: header, views, filter bar and the virtualized session grid.
import { api, el, clear, statusClass, statusText, bytes } from './util.js';
import { showFlow } from './inspector.js';
import { renderIdentity } from './identity.js';
import { renderTimeline } from './timeline.js';
import { renderCompare } from './compare.js';

const ROW = 22;       // row height in px (matches .row in style.css)
const BLOCK = 200;    // rows fetched per request

const state = {
  info: null, t: 0, filter: {}, sort: 'id', desc: false,
  total: 0, blocks: new Map(), pending: new Set(), gen: 0,
  active: -1, picked: new Set(), view: 'sessions',
};

const $ = id => document.getElementById(id);
const grid = $('grid'), spacer = $('grid-spacer');

// ---- theme
function setTheme(th) {
  document.documentElement.dataset.theme = th;
  try { localStorage.setItem('idtrace-theme', th); } catch (e) { /* private mode */ }
}
setTheme((() => { try { return localStorage.getItem('idtrace-theme'); } catch (e) { return null; } })() ||
  (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
$('theme').addEventListener('click', () => setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'));

// ---- views
const views = ['sessions', 'identity', 'timeline', 'compare'];
export function showView(v) {
  state.view = v;
  for (const x of views) {
    $('tab-' + x).setAttribute('aria-selected', String(x === v));
    $('view-' + x).hidden = x !== v;
  }
  if (v === 'identity') renderIdentity($('view-identity'), state.t, jumpTo);
  if (v === 'timeline') renderTimeline($('view-timeline'), state.t, currentRows(), jumpTo);
  if (v === 'compare') renderCompare($('view-compare'), jumpTo);
}
views.forEach((v, i) => {
  const tab = $('tab-' + v);
  tab.addEventListener('click', () => showView(v));
  tab.addEventListener('keydown', e => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const vis = views.filter(x => !$('tab-' + x).hidden);
    const j = (vis.indexOf(v) + (e.key === 'ArrowRight' ? 1 : vis.length - 1)) % vis.length;
    $('tab-' + vis[j]).focus(); showView(vis[j]);
  });
});

// ---- filters
const form = $('filters');
function readFilter() {
  const f = {};
  for (const k of ['host', 'status', 'method', 'q']) {
    const v = form.elements[k].value.trim();
    if (v) f[k] = v;
  }
  if ($('quick-signin').getAttribute('aria-pressed') === 'true') f.signin = '1';
  if ($('quick-errors').getAttribute('aria-pressed') === 'true') f.errors = '1';
  return f;
}
let filterTimer = 0;
form.addEventListener('input', () => { clearTimeout(filterTimer); filterTimer = setTimeout(applyFilter, 200); });
form.addEventListener('submit', e => { e.preventDefault(); applyFilter(); });
for (const id of ['quick-signin', 'quick-errors']) {
  $(id).addEventListener('click', () => {
    const b = $(id); b.setAttribute('aria-pressed', String(b.getAttribute('aria-pressed') !== 'true')); applyFilter();
  });
}
function applyFilter() { state.filter = readFilter(); reload(); }

document.querySelectorAll('.grid-head span').forEach(h => h.addEventListener('click', () => {
  const s = h.dataset.sort;
  if (state.sort === s) state.desc = !state.desc; else { state.sort = s; state.desc = false; }
  document.querySelectorAll('.grid-head span').forEach(x => x.classList.toggle('sorted', x === h));
  h.classList.toggle('desc', state.desc);
  reload();
}));

// ---- grid
function query(offset, limit) {
  const p = new URLSearchParams(Object.assign({ t: state.t, offset, limit, sort: state.sort }, state.filter));
  if (state.desc) p.set('desc', '1');
  return '/api/flows?' + p.toString();
}

export function reload(keepActive) {
  state.gen++;
  state.blocks.clear(); state.pending.clear();
  if (!keepActive) state.active = -1;
  $('filter-error').hidden = true;
  fetchBlock(0).then(() => { if (!keepActive) grid.scrollTop = 0; render(); });
}

async function fetchBlock(b) {
  if (state.blocks.has(b) || state.pending.has(b)) return;
  const gen = state.gen;
  state.pending.add(b);
  try {
    const pg = await api(query(b * BLOCK, BLOCK));
    if (gen !== state.gen) return;
    state.total = pg.total;
    state.blocks.set(b, pg.rows);
  } catch (e) {
    if (gen !== state.gen) return;
    $('filter-error').textContent = 'Filter: ' + e.message;
    $('filter-error').hidden = false;
    state.total = 0; state.blocks.set(b, []);
  } finally {
    state.pending.delete(b);
  }
}

function rowAt(i) {
  const blk = state.blocks.get(Math.floor(i / BLOCK));
  return blk ? blk[i % BLOCK] : undefined;
}

function currentRows() {
  const out = [];
  for (const [, rows] of [...state.blocks.entries()].sort((a, b) => a[0] - b[0])) out.push(...rows);
  return out;
}

// The grid draws only the rows in view, into a fixed pool of row elements
// that is reused as it scrolls (never created or removed per scroll). The
// pool sits in one container moved with a transform; each render reads the
// scroll position first and then only writes, and writes a cell only when
// its text changed.
const rowsBox = $('grid-rows'), head = document.querySelector('.grid-head');
const CELLS = ['c-id', 'c-st', 'c-pr', 'c-ho', 'c-url', 'c-by', 'c-ct', 'c-pc', 'c-cm'];
const pool = [];
let viewH = grid.clientHeight;
let drawn = { total: -1, first: -1, status: '', left: 0 };

function slot(k) {
  while (pool.length <= k) {
    const n = document.createElement('div');
    n.setAttribute('role', 'row');
    const cells = CELLS.map(c => { const sp = document.createElement('span'); sp.className = c; sp.setAttribute('role', 'gridcell'); n.append(sp); return sp; });
    rowsBox.append(n);
    pool.push({ n, cells, text: new Array(CELLS.length).fill(''), key: '' });
  }
  return pool[k];
}

function setCell(sl, c, text, title) {
  if (sl.text[c] === text) return;
  sl.text[c] = text;
  sl.cells[c].textContent = text;
  if (title !== undefined) sl.cells[c].title = title || '';
}

function fillSlot(sl, r, i) {
  const cls = ['row', statusClass(r)];
  if (i % 2) cls.push('odd');
  if (i === state.active) cls.push('active');
  if (state.picked.has(r.id)) cls.push('picked');
  if (r.signin) cls.push('in-signin');
  const className = cls.join(' ');
  const key = className + '|' + i + '|' + r.id + '|' + state.gen;
  if (sl.key === key) return;
  sl.key = key;
  const n = sl.n;
  n.className = className;
  n.hidden = false;
  n.id = 'row-' + i;
  n.setAttribute('aria-rowindex', i + 1);
  n.setAttribute('aria-selected', String(i === state.active));
  n.dataset.id = r.id;
  setCell(sl, 0, String(r.id));
  const sc = statusClass(r);
  if (sl.cells[1].className !== 'c-st ' + sc) sl.cells[1].className = 'c-st ' + sc;
  setCell(sl, 1, statusText(r), r.error || '');
  setCell(sl, 2, r.scheme || '');
  setCell(sl, 3, r.host, r.host);
  setCell(sl, 4, pathOf(r.url), r.url);
  setCell(sl, 5, r.response_bytes ? bytes(r.response_bytes) : '');
  setCell(sl, 6, r.mime || '');
  setCell(sl, 7, r.process || '');
  setCell(sl, 8, r.comment || '');
}

// A row not fetched yet keeps its place, empty (and is not a .row): one
// empty slot looks like any other, so a slot already empty is left alone.
function emptySlot(sl) {
  const key = 'empty';
  if (sl.key === key) return;
  sl.key = key;
  sl.n.className = 'row-empty';
  sl.n.hidden = false;
  sl.n.removeAttribute('id');
  sl.n.removeAttribute('aria-rowindex');
  sl.n.setAttribute('aria-selected', 'false');
  delete sl.n.dataset.id;
  for (let c = 0; c < CELLS.length; c++) setCell(sl, c, '');
}

let rendering = false;
let fetchTimer = 0;
function render() {
  // Reads first.
  const top = grid.scrollTop, left = grid.scrollLeft;
  const first = Math.max(0, Math.floor(top / ROW) - 5);
  const last = Math.min(state.total, Math.ceil((top + viewH) / ROW) + 5);
  const need = new Set();
  for (let i = first; i < last; i++) if (!rowAt(i)) need.add(Math.floor(i / BLOCK));
  // While the grid scrolls fast, fetch only where it comes to rest; once
  // there, fetch the blocks on either side too.
  clearTimeout(fetchTimer);
  fetchTimer = setTimeout(() => {
    const again = () => { if (!rendering) requestAnimationFrame(render); };
    if (need.size) for (const b of need) fetchBlock(b).then(again);
    else if (state.total) {
      const b0 = Math.floor(first / BLOCK), b1 = Math.floor(Math.max(first, last - 1) / BLOCK);
      if (b0 > 0) fetchBlock(b0 - 1);
      if ((b1 + 1) * BLOCK < state.total) fetchBlock(b1 + 1);
    }
  }, need.size ? (state.blocks.size ? 40 : 0) : 150);
  // Then writes.
  if (drawn.total !== state.total) {
    drawn.total = state.total;
    spacer.style.height = (state.total * ROW) + 'px';
    grid.setAttribute('aria-rowcount', String(state.total));
  }
  if (drawn.first !== first) { drawn.first = first; rowsBox.style.transform = `translateY(${first * ROW}px)`; }
  if (drawn.left !== left) { drawn.left = left; head.scrollLeft = left; }
  let k = 0;
  for (let i = first; i < last; i++, k++) {
    const r = rowAt(i);
    if (r) fillSlot(slot(k), r, i); else emptySlot(slot(k));
  }
  for (; k < pool.length; k++) {
    const sl = pool[k];
    if (sl.key !== 'hidden') { emptySlot(sl); sl.key = 'hidden'; sl.n.hidden = true; }
  }
  const shown = state.total.toLocaleString();
  const all = state.info ? state.info.traces[state.t].flows.toLocaleString() : shown;
  const status = `${shown} of ${all} sessions` + (state.picked.size ? ` · ${state.picked.size} selected for export` : '');
  if (drawn.status !== status) { drawn.status = status; $('grid-status').textContent = status; }
}

function pathOf(u) {
  const i = u.indexOf('://');
  if (i < 0) return u;
  const j = u.indexOf('/', i + 3);
  return j < 0 ? '/' : u.slice(j);
}

// One click handler for all rows: rows are re-created as the grid scrolls.
// Rows are picked on mousedown, as in Fiddler; the row is found from the
// position, since rows are re-created as the grid scrolls.
grid.addEventListener('mousedown', e => {
  if (e.button !== 0) return;
  const i = Math.floor((e.clientY - grid.getBoundingClientRect().top + grid.scrollTop) / ROW);
  if (i < 0 || i >= state.total) return;
  const r = rowAt(i);
  if ((e.ctrlKey || e.metaKey) && r) { togglePick(r.id); return; }
  setActive(i, true);
});

grid.addEventListener('scroll', () => {
  if (rendering) return;
  rendering = true;
  requestAnimationFrame(() => { rendering = false; render(); });
}, { passive: true });
// The viewport's height is read when it changes, not on every scroll.
new ResizeObserver(() => { viewH = grid.clientHeight; render(); }).observe(grid);

function setActive(i, open) {
  if (state.total === 0) return;
  state.active = Math.max(0, Math.min(state.total - 1, i));
  const top = state.active * ROW;
  if (top < grid.scrollTop) grid.scrollTop = top;
  else if (top + ROW > grid.scrollTop + grid.clientHeight) grid.scrollTop = top + ROW - grid.clientHeight;
  grid.setAttribute('aria-activedescendant', 'row-' + state.active);
  render();
  if (open) openActive();
}

async function openActive() {
  let r = rowAt(state.active);
  if (!r) { await fetchBlock(Math.floor(state.active / BLOCK)); r = rowAt(state.active); }
  if (r) showFlow($('inspector'), state.t, r.id, jumpTo);
}

function togglePick(id) {
  if (state.picked.has(id)) state.picked.delete(id); else state.picked.add(id);
  render();
}

grid.addEventListener('keydown', e => {
  const page = Math.max(1, Math.floor(grid.clientHeight / ROW) - 1);
  const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
  if (e.key in moves) { e.preventDefault(); setActive((state.active < 0 ? -1 : state.active) + moves[e.key], true); }
  else if (e.key === 'Home') { e.preventDefault(); setActive(0, true); }
  else if (e.key === 'End') { e.preventDefault(); setActive(state.total - 1, true); }
  else if (e.key === 'Enter') { e.preventDefault(); openActive(); }
  else if (e.key === ' ') { e.preventDefault(); const r = rowAt(state.active); if (r) togglePick(r.id); }
});
grid.addEventListener('focus', () => { if (state.active < 0 && state.total > 0) setActive(0, false); });

document.addEventListener('keydown', e => {
  if (e.key === '/' && !['INPUT', 'SELECT', 'TEXTAREA'].includes(document.activeElement.tagName)) {
    e.preventDefault(); showView('sessions'); $('q').focus();
  }
});

// ---- export: the picked rows, else every row the filter shows; sanitized
// unless the user ticks "unsanitized" and confirms
async function exportAs(format) {
  const body = { t: state.t, format };
  if ($('export-unsanitized').checked) {
    if (!confirm('Export WITHOUT sanitizing? The file will hold live session cookies, tokens and possibly passwords: anyone who gets it can sign in as the user.')) return;
    body.unsanitized = true;
  }
  if (state.picked.size) body.ids = [...state.picked].sort((a, b) => a - b);
  else body.filter = state.filter;
  const r = await fetch('/api/export', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) { $('filter-error').textContent = 'Export: ' + (await r.text()); $('filter-error').hidden = false; return; }
  const blob = await r.blob();
  const name = (/filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') || '') || [])[1] || 'selection.' + format;
  const a = el('a', { href: URL.createObjectURL(blob), download: name, id: 'export-link' });
  document.body.append(a); a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
$('export-har').addEventListener('click', () => exportAs('har'));
$('export-saz').addEventListener('click', () => exportAs('saz'));

// ---- jumping to a flow from the identity, timeline and compare views
export async function jumpTo(t, id) {
  if (t !== state.t) { state.t = t; $('trace').value = String(t); state.picked.clear(); }
  form.reset();
  for (const b of ['quick-signin', 'quick-errors']) $(b).setAttribute('aria-pressed', 'false');
  state.filter = {}; state.sort = 'id'; state.desc = false;
  document.querySelectorAll('.grid-head span').forEach(x => x.classList.remove('sorted', 'desc'));
  showView('sessions');
  state.gen++; state.blocks.clear();
  await fetchBlock(Math.floor((id - 1) / BLOCK));
  setActive(id - 1, true);
  grid.focus();
}

// ---- start
async function start() {
  try {
    state.info = await api('/api/info');
  } catch (e) {
    clear(document.body).append(el('p', { class: 'error-line', text: 'The viewer API refused the page: ' + e.message }));
    return;
  }
  const info = state.info;
  const sel = $('trace');
  info.traces.forEach(t => sel.append(el('option', { value: t.index, text: t.name })));
  if (info.traces.length > 1) sel.parentElement.hidden = false;
  sel.addEventListener('change', () => { state.t = Number(sel.value); state.picked.clear(); summary(); reload(); if (state.view !== 'sessions') showView(state.view); });
  if (info.diff) $('tab-compare').hidden = false;
  summary();
  reload();
  if (window.EventSource) {
    const es = new EventSource('/api/events');
    es.addEventListener('flows', ev => {
      const d = JSON.parse(ev.data);
      // The count the page was loaded with: flows that arrived before the
      // event stream connected are only announced by its first event.
      const loaded = info.traces[state.t] ? info.traces[state.t].flows : undefined;
      d.flows.forEach((n, i) => { if (info.traces[i]) info.traces[i].flows = n; });
      if (d.flows[state.t] !== undefined && d.flows[state.t] !== state.knownFlows) {
        const first = state.knownFlows === undefined;
        state.knownFlows = d.flows[state.t];
        if (!first || state.knownFlows !== loaded) { summary(); reload(true); }
      }
      // A live capture's analysis changes without new flows: refresh the
      // counts, and the identity view when it is the one shown.
      api('/api/info').then(fresh => {
        fresh.traces.forEach((t, i) => { if (info.traces[i]) Object.assign(info.traces[i], t); });
        summary();
        if (state.view === 'identity') renderIdentity($('view-identity'), state.t, jumpTo, true);
      }).catch(() => {});
    });
  }
}

function summary() {
  const t = state.info.traces[state.t];
  const parts = [`${t.name}: ${t.flows.toLocaleString()} sessions`, `${t.signins} sign-in${t.signins === 1 ? '' : 's'}`];
  if (t.findings) parts.push(`${t.findings} finding${t.findings === 1 ? '' : 's'}` + (t.errors ? ` (${t.errors} error${t.errors === 1 ? '' : 's'})` : ''));
  $('summary').textContent = parts.join(' · ');
  document.title = 'idtrace · ' + t.name;
}

start();
