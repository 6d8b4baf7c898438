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

let rendering = false;
let fetchTimer = 0;
function render() {
  spacer.style.height = (state.total * ROW) + 'px';
  grid.setAttribute('aria-rowcount', String(state.total));
  const first = Math.max(0, Math.floor(grid.scrollTop / ROW) - 5);
  const last = Math.min(state.total, Math.ceil((grid.scrollTop + grid.clientHeight) / ROW) + 5);
  const need = new Set();
  for (let i = first; i < last; i++) if (!rowAt(i)) need.add(Math.floor(i / BLOCK));
  // While the grid scrolls fast, fetch only where it comes to rest.
  if (need.size) {
    clearTimeout(fetchTimer);
    fetchTimer = setTimeout(() => {
      for (const b of need) fetchBlock(b).then(() => { if (!rendering) requestAnimationFrame(render); });
    }, state.blocks.size ? 40 : 0);
  }
  for (const n of [...grid.querySelectorAll('.row')]) n.remove();
  const frag = document.createDocumentFragment();
  for (let i = first; i < last; i++) {
    const r = rowAt(i);
    if (!r) continue;
    frag.append(rowEl(r, i));
  }
  grid.append(frag);
  const shown = state.total.toLocaleString();
  const all = state.info ? state.info.traces[state.t].flows.toLocaleString() : shown;
  $('grid-status').textContent = `${shown} of ${all} sessions` + (state.picked.size ? ` · ${state.picked.size} selected for export` : '');
}

function rowEl(r, i) {
  const cls = ['row', statusClass(r)];
  if (i === state.active) cls.push('active');
  if (state.picked.has(r.id)) cls.push('picked');
  if (r.signin) cls.push('in-signin');
  const n = el('div', { class: cls.join(' '), role: 'row', id: 'row-' + i, 'aria-rowindex': i + 1, 'aria-selected': String(i === state.active), 'data-id': r.id },
    el('span', { class: 'c-id', role: 'gridcell', text: r.id }),
    el('span', { class: 'c-st ' + statusClass(r), role: 'gridcell', text: statusText(r), title: r.error || null }),
    el('span', { class: 'c-pr', role: 'gridcell', text: r.scheme || '' }),
    el('span', { class: 'c-ho', role: 'gridcell', text: r.host, title: r.host }),
    el('span', { class: 'c-url', role: 'gridcell', text: pathOf(r.url), title: r.url }),
    el('span', { class: 'c-by', role: 'gridcell', text: r.response_bytes ? bytes(r.response_bytes) : '' }),
    el('span', { class: 'c-ct', role: 'gridcell', text: r.mime }),
    el('span', { class: 'c-pc', role: 'gridcell', text: r.process || '' }),
    el('span', { class: 'c-cm', role: 'gridcell', text: r.comment || '' }));
  n.style.top = (i * ROW) + 'px';
  return n;
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

grid.addEventListener('scroll', () => { rendering = true; requestAnimationFrame(() => { rendering = false; render(); }); }, { passive: true });
window.addEventListener('resize', render);

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
      d.flows.forEach((n, i) => { if (info.traces[i]) info.traces[i].flows = n; });
      if (d.flows[state.t] !== undefined && d.flows[state.t] !== state.knownFlows) {
        const first = state.knownFlows === undefined;
        state.knownFlows = d.flows[state.t];
        if (!first) { summary(); reload(true); }
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
