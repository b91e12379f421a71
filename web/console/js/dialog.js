// A modal form (<dialog>): fields, a submit button, the server's error shown in place; closes
// and calls back when the submit succeeds. Also the one-time secret display with a copy button.
import { el, notice, replace } from './dom.js';

/** fields: nodes; submit(form) does the call and may throw an ApiError. */
export function openDialog(title, fields, submitLabel, submit) {
  const message = el('div', { class: 'dialog-message', 'aria-live': 'polite' });
  const form = el('form', { method: 'dialog' },
    el('h2', {}, title), ...fields, message,
    el('div', { class: 'dialog-actions' },
      el('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel'),
      el('button', { type: 'submit', class: 'primary' }, submitLabel)));
  const dialog = el('dialog', {}, form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(message);
    try {
      await submit(form);
      dialog.close();
    } catch (err) {
      replace(message, notice(describe(err), 'error'));
    }
  });
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

function describe(err) {
  const fields = err.details?.fields;
  if (fields && typeof fields === 'object') {
    // A route schema's 422 already names its fields in the message; the service's does not.
    const named = Object.entries(fields).map(([k, v]) => `${k} ${v}`).filter((text) => !err.message.includes(text));
    return named.length ? `${err.message}: ${named.join('; ')}` : err.message;
  }
  if (err.status === 403) return 'You are signed in as a viewer: changes are not allowed.';
  return err.message;
}

/** A labelled input; options.choices makes a <select>. */
export function field(label, name, options = {}) {
  const id = `f-${name}`;
  const input = options.choices
    ? el('select', { id, name }, options.choices.map(([value, text]) => el('option', { value, selected: value === options.value }, text)))
    : el('input', { id, name, type: options.type ?? 'text', value: options.value ?? '', placeholder: options.placeholder, required: options.required, min: options.min });
  return el('div', { class: 'field' }, el('label', { for: id }, label), input, options.hint ? el('div', { class: 'hint' }, options.hint) : null);
}

/** A form field's value as a whole number, or null when empty. */
export function intOrNull(form, name) {
  const text = form.elements[name].value.trim();
  return text === '' ? null : Number(text);
}

/** Shows a key's secret once, with a copy button; it is in this dialog only and not kept. */
export function showSecret(title, issued) {
  const input = el('input', { type: 'text', readonly: true, value: issued.key, class: 'secret', id: 'new-key-secret', 'aria-label': 'new key' });
  const copied = el('span', { class: 'muted', 'aria-live': 'polite' });
  const copy = el('button', { type: 'button', class: 'primary', id: 'copy-key' }, 'Copy');
  copy.addEventListener('click', async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(issued.key);
    } catch {
      document.execCommand('copy');
    }
    copied.textContent = 'Copied.';
  });
  const dialog = el('dialog', { class: 'secret-dialog' },
    el('h2', {}, title),
    el('p', {}, 'Copy this key now: it is shown only this once. The gateway keeps only its hash.'),
    el('div', { class: 'secret-row' }, input, copy), copied,
    el('p', { class: 'muted small' }, `Key ${issued.id} for team ${issued.team}${issued.label ? `, label "${issued.label}"` : ''}.`),
    el('div', { class: 'dialog-actions' }, el('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Done')));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', resolve));
}
