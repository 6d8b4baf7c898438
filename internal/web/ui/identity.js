// The identity view: each sign-in drawn as a sequence diagram between the
// browser, the app, the identity provider, a federated IdP and APIs, with
// its findings and its case identifiers.
import { api, el, clear, copy } from './util.js';
import { findingEl } from './inspector.js';

const LANES = ['Browser', 'App', 'Identity provider', 'Federated IdP', 'API'];

export async function renderIdentity(box, t, jumpTo) {
  clear(box).append(el('p', { class: 'hint', text: 'Loading the analysis…' }));
  let rep, ids;
  try {
    [rep, ids] = await Promise.all([api('/api/report?t=' + t), api('/api/caseids?t=' + t)]);
  } catch (e) {
    clear(box).append(el('p', { class: 'error-line', text: 'Analysis: ' + e.message }));
    return;
  }
  clear(box);
  if (!rep.flows.length) box.append(el('p', { class: 'hint', text: 'No OAuth2 / OpenID Connect / SAML / WS-Fed sign-in found in this trace.' }));
  for (const s of rep.flows) {
    const fails = s.result === 'error';
    const sec = el('section', { class: 'signin', 'aria-label': 'sign-in ' + s.id });
    sec.append(el('h2', {}, `${fails ? '✖' : s.result === 'success' ? '✔' : '…'} Sign-in ${s.id}: ${s.protocol} ${s.grant || ''}`,
      el('span', { class: 'hint', text: ` · ${s.client_name || s.client_id || 'unknown client'} at ${s.idp || '?'} · ${s.result}` })));
    if (s.error) sec.append(el('p', { class: 'error-line', text: '✖ ' + s.error }));
    const items = (ids.find(x => x.signin === s.id) || { items: [] }).items;
    if (items.length) {
      sec.append(el('div', { class: 'caseids', 'aria-label': 'case identifiers' }, 'Case identifiers (click to copy): ',
        items.map(it => el("button", { class: "caseid", title: "Copy " + it.name, onclick: e => copy(it.value, e.currentTarget) }, `${it.name}: ${it.value}`))));
    }
    sec.append(diagram(s, t, jumpTo));
    for (const fd of rep.findings.filter(f => f.signin === s.id)) sec.append(findingEl(fd, t, jumpTo));
    box.append(sec);
  }
  const loose = rep.findings.filter(f => !f.signin);
  if (loose.length) {
    box.append(el('h2', { text: 'Other findings' }));
    for (const fd of loose) box.append(findingEl(fd, t, jumpTo));
  }
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
