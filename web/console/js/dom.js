// Building the page with the DOM only: every text goes in through textContent, never as HTML,
// so a team or key label like <img src=x onerror=...> shows as the text it is.

/** el('td', {class: 'num'}, 'text', childNode, ...): attributes then children (strings are text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Tokens as a person reads them: 1,234,567 (a dash when unknown). */
export function tokens(n) {
  return n === null || n === undefined ? '—' : integer.format(n);
}

export function percent(ratio) {
  return ratio === null || ratio === undefined ? '—' : `${(ratio * 100).toFixed(1)}%`;
}

/** An ISO time as a short UTC date and time, e.g. "30 Nov 2026, 14:05 UTC". */
export function when(iso, withTime = true) {
  if (!iso) return '—';
  const date = new Date(iso);
  const options = { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' };
  if (withTime) Object.assign(options, { hour: '2-digit', minute: '2-digit', hour12: false });
  return date.toLocaleString('en-GB', options) + (withTime ? ' UTC' : '');
}

export const PERIOD_WORDS = { day: 'a day', week: 'a week', month: 'a month', total: 'in total' };

/** A bar showing a share of a budget; red from 100%, amber from 80%. */
export function meter(used, limit) {
  const ratio = limit > 0 ? used / limit : 0;
  const level = ratio >= 1 ? 'over' : ratio >= 0.8 ? 'high' : 'ok';
  const bar = el('span', { class: `meter-fill ${level}` });
  bar.style.width = `${Math.min(100, ratio * 100).toFixed(1)}%`;
  return el('span', { class: 'meter', title: percent(ratio) }, el('span', { class: 'meter-track' }, bar), el('span', { class: 'meter-text' }, percent(ratio)));
}

export function card(label, value, note, test) {
  return el('div', { class: 'card', dataset: test ? { kpi: test } : undefined },
    el('div', { class: 'card-label' }, label),
    el('div', { class: 'card-value' }, value),
    note ? el('div', { class: 'card-note' }, note) : null);
}

export function table(headers, rows, attrs = {}) {
  return el('table', attrs,
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { class: h.num ? 'num' : undefined }, h.label ?? h)))),
    el('tbody', {}, rows));
}

export function section(title, ...children) {
  return el('section', { class: 'panel' }, el('h2', {}, title), ...children);
}

export function notice(text, kind = 'info') {
  return el('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : undefined }, text);
}
