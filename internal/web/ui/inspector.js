// The inspector: one flow's request and response, in tabs.
import { api, el, clear, kvTable, bytes, copy } from './util.js';

let lastTab = { request: 'Headers', response: 'Headers' };
let showing = 0; // only the latest request may draw, however the answers arrive

export async function showFlow(box, t, id, jumpTo, reveal) {
  const mine = ++showing;
  if (box.dataset.flow === `${t}:${id}:${!!reveal}` && box.querySelector('#insp-title')) return;
  let f;
  try {
    f = await api(`/api/flow?t=${t}&id=${id}` + (reveal ? '&reveal=1' : ''));
  } catch (e) {
    if (mine !== showing) return;
    clear(box).append(el('p', { class: 'error-line', text: `Flow ${id}: ${e.message}` }));
    return;
  }
  if (mine !== showing) return;
  box.dataset.flow = `${t}:${id}:${!!reveal}`;
  clear(box);
  box.append(el('h2', { id: 'insp-title', text: `#${id}  ${f.request.line}` }));
  const bar = el('p', { class: 'hint' },
    f.started ? `started ${f.started}` : '', f.row.duration_ms ? ` · ${Math.round(f.row.duration_ms)} ms` : '',
    f.masked ? ` · ${f.masked} secret value${f.masked === 1 ? '' : 's'} shortened ` : '',
    f.masked && !reveal ? el('button', { id: 'reveal', onclick: () => {
      if (confirm('Show tokens, cookies and secrets of this flow whole? Anyone who can see your screen will see them.')) showFlow(box, t, id, jumpTo, true);
    } }, 'Reveal secrets') : null,
    reveal ? el('strong', { class: 'verdict bad', text: ' secrets shown whole' }) : null);
  box.append(bar);
  if (f.error) box.append(el('p', { class: 'error-line', text: '✖ ' + f.error }));
  if (f.signin) {
    box.append(el('p', {}, `Part of sign-in ${f.signin.id} (${f.signin.protocol} ${f.signin.grant || ''}, ${f.signin.result}). `));
  }
  for (const fd of f.findings) box.append(findingEl(fd, t, jumpTo));
  if (f.tokens.length) {
    box.append(el('h3', { text: `Tokens (${f.tokens.length})` }));
    for (const tk of f.tokens) box.append(tokenEl(tk));
  }
  box.append(section('request', f.request, f));
  if (f.response) box.append(section('response', f.response, f));
  else box.append(el('p', { class: 'hint', text: 'No response recorded.' }));
}

export function findingEl(fd, t, jumpTo) {
  return el('div', { class: 'finding ' + fd.severity, role: 'note' },
    el('span', { class: 'sev', text: { error: '✖ error', warning: '⚠ warning', info: 'ℹ info' }[fd.severity] || fd.severity }), ' ',
    el('strong', { text: fd.title }),
    el('div', { text: fd.detail }),
    fd.hint ? el('div', {}, el('em', { text: 'Next: ' }), fd.hint) : null,
    jumpTo && fd.flow_ids && fd.flow_ids.length ? el('div', {}, 'Flows: ', fd.flow_ids.slice(0, 20).map(n =>
      el('button', { class: 'jump', 'data-flow': n, onclick: () => jumpTo(t, n) }, '#' + n))) : null);
}

// The verdict words are those of every report: verified, invalid, not
// checked, unsigned (a token with no signature at all).
const verdicts = {
  'verified': ['good', '✔ signature verified'],
  'invalid': ['bad', '✖ signature invalid'],
  'unsigned': ['bad', '⚠ unsigned: anyone could have written it'],
  'not checked': ['unknown', '? signature not checked'],
};

function verdictEl(tk) {
  const [cls, txt] = verdicts[tk.verdict] || verdicts['not checked'];
  const why = tk.verify_detail ? ` (${tk.verify_detail})` : '';
  return el('span', { class: 'verdict ' + cls, text: txt, title: tk.verify_detail || null }, why);
}

function tokenEl(tk) {
  const box = el('div', { class: 'token' });
  const kind = tk.jwt ? tk.jwt.kind : (tk.saml ? 'SAML ' + tk.saml.binding : tk.type);
  box.append(el('div', {}, el('strong', { text: kind }), ` in ${tk.where} · `, verdictEl(tk),
    tk.verify_detail ? el('span', { class: 'hint', text: ' — ' + tk.verify_detail }) : null));
  box.append(el('div', { class: 'masked insp-body', text: tk.display }));
  if (tk.error) box.append(el('p', { class: 'error-line', text: tk.error }));
  if (tk.jwt) {
    for (const is of tk.jwt.issues || []) box.append(el('div', { class: 'verdict bad', text: '⚠ ' + is }));
    const claims = el('table', { class: 'kv claims' }, el('tbody', {}, tk.jwt.explained.map(c =>
      el('tr', {}, el('th', { text: c.claim }), el('td', {}, el('div', { text: c.value }), c.meaning ? el('div', { class: 'hint', text: c.meaning }) : null)))));
    box.append(claims);
  }
  if (tk.saml) {
    for (const p of (tk.saml.problems || []).concat(tk.saml.issues || [])) box.append(el('div', { class: 'verdict bad', text: '⚠ ' + p }));
    box.append(jsonTree(tk.saml.message, 'message', true));
  }
  return box;
}

const TABS = ['Headers', 'Query', 'Form', 'Cookies', 'JSON', 'XML', 'Raw', 'Hex', 'Image', 'Body'];

function section(side, m, f) {
  const wrap = el('section', { class: 'msg-' + side, 'aria-label': side });
  const body = el('div', { class: 'insp-body', role: 'tabpanel' });
  const tabs = el('div', { class: 'insp-tabs', role: 'tablist', 'aria-label': side + ' inspectors' },
    el('span', { class: 'side', text: side === 'request' ? 'Request' : 'Response ' + (f.row.has_response ? f.row.status : '') }));
  const avail = TABS.filter(name => available(name, m));
  if (!avail.includes(lastTab[side])) lastTab[side] = 'Headers';
  for (const name of avail) {
    const b = el('button', { role: 'tab', 'aria-selected': String(name === lastTab[side]), 'data-tab': name, id: `${side}-tab-${name}` }, name);
    b.addEventListener('click', () => {
      lastTab[side] = name;
      tabs.querySelectorAll('button').forEach(x => x.setAttribute('aria-selected', String(x === b)));
      fill(body, name, m, side);
    });
    tabs.append(b);
  }
  wrap.append(tabs, body);
  fill(body, lastTab[side], m, side);
  return wrap;
}

function available(name, m) {
  const b = m.body;
  switch (name) {
    case 'Query': return !!(m.query && m.query.length);
    case 'Form': return !!(m.form && m.form.length);
    case 'Cookies': return !!(m.cookies && m.cookies.length);
    case 'JSON': return b.kind === 'json' && !!b.text;
    case 'XML': return (b.kind === 'xml' || b.kind === 'html') && !!b.text;
    case 'Image': return b.kind === 'image' && !!b.base64;
    case 'Hex': return !!(b.text || b.base64);
    default: return true;
  }
}

function fill(box, name, m, side) {
  clear(box);
  const b = m.body;
  switch (name) {
    case 'Headers':
      box.append(el('div', { text: m.line }), kvTable(m.headers));
      break;
    case 'Query': box.append(kvTable(m.query)); break;
    case 'Form': box.append(kvTable(m.form)); break;
    case 'Cookies': box.append(kvTable(m.cookies)); break;
    case 'JSON': {
      let v;
      try { v = JSON.parse(b.text); } catch (e) { box.append(el('p', { class: 'error-line', text: 'Not valid JSON: ' + e.message })); box.append(el('pre', { text: b.text })); break; }
      box.append(jsonTree(v, '', true));
      break;
    }
    case 'XML': box.append(el('pre', { text: prettyXML(b.text) })); break;
    case 'Raw': {
      const lines = [m.line, ...m.headers.map(h => h.name + ': ' + h.value), ''];
      box.append(el('pre', { text: lines.join('\n') + '\n' + (b.text || (b.base64 ? `[${bytes(b.size)} binary body: see Hex]` : '')) }));
      break;
    }
    case 'Hex': box.append(el('pre', { class: 'hex', text: hexDump(b) })); break;
    case 'Image':
      box.append(el('img', { src: `data:${b.mime || 'image/png'};base64,${b.base64}`, alt: `${side} image, ${bytes(b.size)}`, style: null }));
      break;
    case 'Body': {
      const facts = [`${bytes(b.size)}`, b.mime || 'no content type', b.encoding ? `content coding ${b.encoding} (decoded below)` : 'no content coding'];
      if (b.truncated) facts.push('truncated for display');
      if (b.omitted) facts.push('the trace did not include the body');
      box.append(el('p', { class: 'hint', text: facts.join(' · ') }));
      if (b.text) box.append(el('pre', { text: b.text }));
      else if (b.base64) box.append(el('p', { text: 'Binary body: see Hex or Image.' }));
      break;
    }
  }
}

// jsonTree draws a JSON value as nested <details>, open to depth 2.
export function jsonTree(v, key, top, depth = 0) {
  const label = key !== '' ? el('span', { class: 'k', text: JSON.stringify(key) + ': ' }) : null;
  if (v !== null && typeof v === 'object') {
    const arr = Array.isArray(v);
    const entries = arr ? v.map((x, i) => [i, x]) : Object.entries(v);
    const d = el('details', { open: depth < 2 }, el('summary', {}, label, arr ? `[${entries.length}]` : `{${entries.length}}`));
    for (const [k, x] of entries) d.append(jsonTree(x, arr ? '' : k, false, depth + 1));
    return top ? el('div', { class: 'tree' }, d) : d;
  }
  const cls = typeof v === 'string' ? 's' : 'n';
  const leaf = el('div', {}, label, el('span', { class: cls, text: JSON.stringify(v) }));
  return top ? el('div', { class: 'tree' }, leaf) : leaf;
}

function prettyXML(s) {
  // Indent by tag nesting; text only, never parsed as HTML.
  let depth = 0;
  const out = [];
  for (const tok of s.replace(/>\s*</g, '>\n<').split('\n')) {
    const t = tok.trim();
    if (!t) continue;
    if (/^<\//.test(t)) depth = Math.max(0, depth - 1);
    out.push('  '.repeat(depth) + t);
    if (/^<[^!?/][^>]*[^/]>$/.test(t) && !/<\/[^>]+>$/.test(t)) depth++;
  }
  return out.join('\n');
}

function hexDump(b) {
  let bytesArr;
  if (b.base64) bytesArr = Uint8Array.from(atob(b.base64), c => c.charCodeAt(0));
  else bytesArr = new TextEncoder().encode(b.text || '');
  const max = Math.min(bytesArr.length, 64 * 1024);
  const lines = [];
  for (let i = 0; i < max; i += 16) {
    const chunk = bytesArr.slice(i, i + 16);
    const hex = [...chunk].map(x => x.toString(16).padStart(2, '0')).join(' ');
    const asc = [...chunk].map(x => (x >= 32 && x < 127 ? String.fromCharCode(x) : '.')).join('');
    lines.push(i.toString(16).padStart(8, '0') + '  ' + hex.padEnd(48) + '  ' + asc);
  }
  if (bytesArr.length > max) lines.push(`… ${bytesArr.length - max} more bytes`);
  return lines.join('\n');
}

export { copy };
