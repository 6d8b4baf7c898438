// Compare: the sign-ins of two traces matched, the first difference in each.
import { api, el, clear } from './util.js';

export async function renderCompare(box, jumpTo) {
  clear(box);
  let d;
  try { d = await api('/api/diff'); } catch (e) { box.append(el('p', { class: 'error-line', text: 'Compare: ' + e.message })); return; }
  box.append(el('h2', { text: `Left: ${d.left}  ·  Right: ${d.right}` }));
  if (!d.pairs.length && !d.only_left.length && !d.only_right.length) box.append(el('p', { class: 'hint', text: 'No sign-ins in either trace.' }));
  for (const p of d.pairs) {
    const fd = p.first_difference;
    const sec = el('section', { class: 'pair ' + (fd ? 'differs' : 'same'), 'aria-label': `sign-in ${p.left.id} and ${p.right.id}` });
    sec.append(el('h3', {}, `${fd ? '≠' : '='} Sign-in ${p.left.id} ↔ ${p.right.id}: ${p.left.protocol} ${p.left.grant || ''} · ${p.left.client_name || p.left.client_id || ''}`,
      el('span', { class: 'hint', text: ` · ${p.left.result} ↔ ${p.right.result}` })));
    if (!fd) {
      sec.append(el('p', { text: 'Same: no difference in endpoints, statuses, parameters, cookies, claims or errors.' }));
    } else {
      sec.append(el('p', { class: 'first-diff' }, el('strong', { text: `First difference${fd.step ? ' at step ' + fd.step : ''}: ${fd.kind}${fd.name ? ' ' + fd.name : ''}` }), ' — ' + fd.detail));
      sec.append(el('div', { class: 'diffval' }, el('span', { text: 'left' }), el('span', { class: 'left', text: fd.left || '(none)' }),
        el('span', { text: 'right' }), el('span', { class: 'right', text: fd.right || '(none)' })));
      const btns = el('div', {});
      if (fd.left_flow) btns.append(el('button', { onclick: () => jumpTo(0, fd.left_flow) }, `Open left flow #${fd.left_flow}`), ' ');
      if (fd.right_flow) btns.append(el('button', { onclick: () => jumpTo(1, fd.right_flow) }, `Open right flow #${fd.right_flow}`));
      sec.append(btns);
    }
    box.append(sec);
  }
  const only = (list, side, t) => list.forEach(s => box.append(el('section', { class: 'pair differs' },
    el('h3', { text: `Only in ${side}: sign-in ${s.id} ${s.protocol} ${s.grant || ''} · ${s.client_name || s.client_id || ''} (${s.result})` }),
    s.error ? el('p', { class: 'error-line', text: s.error }) : null,
    s.first_flow ? el('button', { onclick: () => jumpTo(t, s.first_flow) }, `Open flow #${s.first_flow}`) : null)));
  only(d.only_left, 'left', 0);
  only(d.only_right, 'right', 1);
}
