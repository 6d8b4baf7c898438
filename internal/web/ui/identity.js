// The identity view: each sign-in drawn as a sequence diagram between the
// browser, the app, the identity provider, a federated IdP and APIs, with
// its findings and its case identifiers.
import { api, el, clear, copy } from './util.js';
import { findingEl } from './inspector.js';

const LANES = ['Browser', 'App', 'Identity provider', 'Federated IdP', 'API'];

// renderIdentity draws the sign-ins of trace t into box. With live set
// (capture --ui, on each server event) it keeps the view as it is when the
// analysis has not changed, and shows no "Loading" line meanwhile.
export async function renderIdentity(box, t, jumpTo, live) {
  if (!live) { clear(box).append(el('p', { class: 'hint', text: 'Loading the analysis…' })); drawn.delete(box); }
  const gen = ++renders;
  let rep, ids;
  try {
    [rep, ids] = await Promise.all([api('/api/report?t=' + t), api('/api/caseids?t=' + t)]);
  } catch (e) {
    if (live || gen !== renders) return;
    clear(box).append(el('p', { class: 'error-line', text: 'Analysis: ' + e.message }));
    return;
  }
  if (gen !== renders) return; // a later call draws
  const key = t + ' ' + JSON.stringify(rep) + JSON.stringify(ids);
  if (live && drawn.get(box) === key) return;
  drawn.set(box, key);
  clear(box);
  if (rep.source === 'live capture') box.append(el('p', { class: 'hint live-note', text: 'Live capture: the sign-ins grow as requests arrive; signatures are checked with the keys seen so far.' }));
  if (!rep.flows.length) box.append(el('p', { class: 'hint', text: 'No OAuth2 / OpenID Connect / SAML / WS-Fed sign-in found in this trace.' }));
  for (const s of rep.flows) {
    const fails = s.result === 'error';
    const sec = el('section', { class: 'signin', 'aria-label': 'sign-in ' + s.id, 'data-signin': s.id, 'data-result': s.result });
    sec.append(el('h2', {}, `${fails ? '✖' : s.result === 'success' ? '✔' : '…'} Sign-in ${s.id}: ${s.protocol} ${s.grant || ''}`,
      el('span', { class: 'hint', text: ` · ${s.client_name || s.client_id || 'unknown client'} at ${s.idp || '?'} · ${results[s.result] || s.result}` })));
    if (s.error) sec.append(el('p', { class: 'error-line', text: '✖ ' + s.error }));
    const items = (ids.find(x => x.signin === s.id) || { items: [] }).items;
    if (items.length) {
      sec.append(el('div', { class: 'caseids', 'aria-label': 'case identifiers' }, 'Case identifiers (click to copy): ',
        items.map(it => el("button", { class: "caseid", title: "Copy " + it.name, onclick: e => copy(it.value, e.currentTarget) }, `${it.name}: ${it.value}`))));
    }
    sec.append(diagram(s, t, jumpTo));
    const toks = (s.tokens || []).map(i => rep.tokens[i]).filter(Boolean);
    if (toks.length) sec.append(tokenList(toks, t, jumpTo));
    for (const fd of rep.findings.filter(f => f.signin === s.id)) sec.append(findingEl(fd, t, jumpTo));
    box.append(sec);
  }
  const looseTokens = rep.tokens.filter(tk => !tk.signin);
  if (looseTokens.length) {
    box.append(el('h2', { text: 'Tokens outside a sign-in' }), tokenList(looseTokens, t, jumpTo));
  }
  const loose = rep.findings.filter(f => !f.signin);
  if (loose.length) {
    box.append(el('h2', { text: 'Other findings' }));
    for (const fd of loose) box.append(findingEl(fd, t, jumpTo));
  }
}

// drawn remembers what each box shows, so a live refresh that changes
// nothing leaves the view (and the keyboard focus in it) alone.
const drawn = new WeakMap();
let renders = 0;

const results = { success: 'success', error: 'failed', incomplete: 'incomplete', in_progress: 'in progress' };

// The signature verdict words of every report, with a symbol so that
// colour is not the only signal.
const verdictText = { verified: '✔ verified', invalid: '✖ invalid', unsigned: '⚠ unsigned', 'not checked': '? not checked' };
const verdictClass = { verified: 'good', invalid: 'bad', unsigned: 'bad', 'not checked': 'unknown' };

// tokenList shows the tokens of a sign-in by kind, fingerprint (never the
// token itself), a few claims and the signature verdict.
function tokenList(toks, t, jumpTo) {
  const box = el('table', { class: 'kv tokens', 'aria-label': 'tokens' },
    el('thead', {}, el('tr', {}, ['token', 'signature', 'facts', 'flow'].map(h => el('th', { text: h })))),
    el('tbody', {}, toks.map(tk => el('tr', { class: 'token-row', 'data-fingerprint': tk.fingerprint, 'data-verdict': tk.verdict },
      el('td', {}, el('strong', { text: tk.kind }), ' ', el('code', { text: tk.fingerprint, title: 'SHA-256 fingerprint: the token itself is not shown' })),
      el('td', { class: 'verdict ' + (verdictClass[tk.verdict] || 'unknown'), text: (verdictText[tk.verdict] || tk.verdict) + (tk.verify_detail ? ` (${tk.verify_detail})` : '') }),
      el('td', { text: (tk.summary || []).slice(0, 5).map(kv => `${kv.key}: ${kv.value}`).join(' · ') + ((tk.issues || []).length ? ' · ⚠ ' + tk.issues.join(', ') : '') }),
      el('td', {}, el('button', { class: 'jump', 'data-flow': tk.flow_id, onclick: () => jumpTo(t, tk.flow_id) }, '#' + tk.flow_id))))));
  return box;
}

function hostOf(u) { try { return new URL(u).host; } catch (e) { return ''; } }

// laneOf places a step's server on one of the lifelines.
function laneOf(st, s) {
  const h = hostOf(st.url);
  if (st.kind === 'api') return 4;
  const idp = (s.idp || '').toLowerCase();
  if (['authorize', 'token', 'device_code', 'discovery', 'jwks', 'saml_request', 'wsfed', 'login'].includes(st.kind)) {
    return !idp || h.toLowerCase() === idp ? 2 : 3;
  }
  if (h && idp && h.toLowerCase() === idp) return 2;
  return 1;
}

function diagram(s, t, jumpTo) {
  const steps = s.steps;
  const used = new Set([0]);
  steps.forEach(st => used.add(laneOf(st, s)));
  const lanes = LANES.map((name, i) => ({ name, i })).filter(l => used.has(l.i));
  const W = 170, top = 46, gap = 34;
  const x = i => 80 + lanes.findIndex(l => l.i === i) * W;
  const height = top + steps.length * gap * 2 + 20;
  const width = 80 + (lanes.length - 1) * W + 90;
  const svg = el('svg', { class: 'seq', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `sequence diagram of sign-in ${s.id}, ${steps.length} steps` });
  svg.append(el('defs', {}, el('marker', { id: 'arrow' + s.id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    el('path', { d: 'M0,0 L10,5 L0,10 z' }))));
  for (const l of lanes) {
    const cx = x(l.i);
    const hosts = [...new Set(steps.filter(st => laneOf(st, s) === l.i).map(st => hostOf(st.url)))];
    svg.append(el('g', { class: 'actor' }, el('rect', { x: cx - 75, y: 4, width: 150, height: 34, rx: 5 }),
      el('text', { x: cx, y: 18, 'text-anchor': 'middle', text: l.name }),
      el('text', { x: cx, y: 32, 'text-anchor': 'middle', text: hosts.length === 1 ? trim(hosts[0], 24) : hosts.length ? hosts.length + ' hosts' : '' }),
      el('title', { text: hosts.join(', ') })));
    svg.append(el('line', { class: 'lane', x1: cx, y1: 38, x2: cx, y2: height - 4 }));
  }
  steps.forEach((st, i) => {
    const y = top + i * gap * 2 + 14;
    const to = laneOf(st, s);
    const err = st.status >= 400 || st.status === 0;
    const label = `#${st.flow_id} ${st.method} ${trim(pathOf(st.url), 30)} (${st.kind})`;
    const go = () => jumpTo(t, st.flow_id);
    const key = e => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } };
    svg.append(el('g', { class: 'msg req', tabindex: 0, role: 'button', 'data-flow': st.flow_id, 'aria-label': `step ${i + 1}: ${label}, open flow`, onclick: go, onkeydown: key },
      el('line', { x1: x(0), y1: y, x2: x(to) - 2, y2: y, 'marker-end': `url(#arrow${s.id})` }),
      el('text', { x: (x(0) + x(to)) / 2, y: y - 4, 'text-anchor': 'middle', text: label }),
      el('title', { text: st.url })));
    const y2 = y + gap;
    svg.append(el('g', { class: 'msg resp' + (err ? ' err' : ''), 'data-flow': st.flow_id, onclick: go },
      el('line', { x1: x(to), y1: y2, x2: x(0) + 2, y2: y2, 'marker-end': `url(#arrow${s.id})` }),
      el('text', { x: (x(0) + x(to)) / 2, y: y2 - 4, 'text-anchor': 'middle', text: (err ? '✖ ' : '') + (st.status || 'no response') })));
  });
  return svg;
}

function pathOf(u) { try { return new URL(u).pathname; } catch (e) { return u; } }
function trim(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }
