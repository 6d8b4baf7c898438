// The timeline: a waterfall of the sessions the grid has loaded (the
// current filter), bars placed by start time and sized by duration.
import { el, clear, statusText } from './util.js';

export function renderTimeline(box, t, rows, jumpTo) {
  clear(box);
  const timed = rows.filter(r => r.started_ms > 0);
  if (!timed.length) { box.append(el('p', { class: 'hint', text: 'No session with a start time in the current view.' })); return; }
  const shown = timed.slice(0, 2000);
  const t0 = Math.min(...shown.map(r => r.started_ms));
  const t1 = Math.max(...shown.map(r => r.started_ms + Math.max(0, r.duration_ms)));
  const span = Math.max(1, t1 - t0);
  box.append(el('p', { class: 'hint', text: `${shown.length} sessions over ${(span / 1000).toFixed(2)} s (the sessions of the current filter; Enter or click opens one)` }));
  const wf = el('div', { class: 'wf', role: 'list' });
  for (const r of shown) {
    const bar = el('div', { class: 'bar' + (r.status >= 400 || !r.has_response ? ' err' : '') });
    bar.style.left = ((r.started_ms - t0) / span * 100) + '%';
    bar.style.width = (Math.max(0, r.duration_ms) / span * 100) + '%';
    const row = el('div', { class: 'wrow', role: 'listitem', tabindex: 0, 'data-flow': r.id, 'aria-label': `flow ${r.id}, ${Math.round(r.duration_ms)} ms, ${r.host}`,
      onclick: () => jumpTo(t, r.id), onkeydown: e => { if (e.key === 'Enter') jumpTo(t, r.id); } },
      el('span', { text: `#${r.id} ${statusText(r)}` }), el('span', { text: r.host, title: r.url }), el('div', { class: 'track' }, bar));
    wf.append(row);
  }
  box.append(wf);
}
