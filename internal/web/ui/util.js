// Small helpers shared by the viewer's modules. Everything the page shows
// is built with DOM calls and textContent: no HTML strings from the trace.

export async function api(path, opts) {
  const r = await fetch(path, Object.assign({ credentials: 'same-origin' }, opts));
  if (!r.ok) {
    let msg = r.status + ' ' + r.statusText;
    try { const j = await r.json(); if (j.error) msg = j.error; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r.json();
}

// el(tag, attrs, ...children): attrs may hold class, text, on* handlers and attributes.
export function el(tag, attrs, ...kids) {
  const svg = ['svg', 'line', 'text', 'rect', 'g', 'path', 'marker', 'defs', 'title'].includes(tag);
  const n = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') n.textContent = v;
    else if (k === 'class') n.setAttribute('class', v);
    else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else n.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat()) {
    if (c === null || c === undefined || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

export function clear(n) { while (n.firstChild) n.firstChild.remove(); return n; }

export function kvTable(rows) {
  if (!rows || rows.length === 0) return el('p', { class: 'hint', text: 'none' });
  return el('table', { class: 'kv' }, el('tbody', {}, rows.map(r =>
    el('tr', {}, el('th', { text: r.name }), el('td', { class: r.masked ? 'masked' : '', text: r.value, title: r.masked ? 'shortened: use Reveal secrets to see it whole' : null })))));
}

export function statusClass(row) {
  if (!row.has_response) return 's0';
  return 's' + Math.floor(row.status / 100);
}

// statusText is the Result cell: the status with a symbol, so colour is not the only signal.
export function statusText(row) {
  if (!row.has_response) return row.error ? '✖ ERR' : '… none';
  const s = row.status;
  if (s >= 500) return '✖ ' + s;
  if (s >= 400) return '⚠ ' + s;
  if (s >= 300) return '↪ ' + s;
  return s === 0 ? '✖ 0' : String(s);
}

export function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1048576) return (n / 1024).toFixed(1) + ' KB';
  return (n / 1048576).toFixed(1) + ' MB';
}

export async function copy(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
    if (btn) { const t = btn.textContent; btn.textContent = '✓ copied'; setTimeout(() => { btn.textContent = t; }, 1200); }
  } catch (e) {
    window.prompt('Copy:', text);
  }
}
