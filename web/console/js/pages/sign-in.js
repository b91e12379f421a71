// Sign-in: an admin or viewer credential typed into a password field and sent in a POST body
// (never a URL); the server keeps it in an HttpOnly cookie and this page forgets it.
import { api } from '../api.js';
import { el, notice, replace } from '../dom.js';

export function renderSignIn(main, onSignedIn) {
  const input = el('input', { type: 'password', id: 'credential', name: 'credential', autocomplete: 'current-password', required: true });
  const message = el('div', { 'aria-live': 'polite' });
  const form = el('form', { class: 'sign-in', method: 'post', action: '/console/session' },
    el('h1', {}, 'Sign in'),
    el('p', { class: 'muted' }, 'Use an admin or viewer credential of this gateway (or its GATEWAY_ADMIN_TOKEN).'),
    el('label', { for: 'credential' }, 'Credential'),
    input,
    el('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(message);
    try {
      const who = await api.signIn(input.value);
      input.value = '';
      await onSignedIn(who);
    } catch (err) {
      replace(message, notice(err.status === 401 ? 'This credential is not accepted.' : `Sign-in failed: ${err.message}`, 'error'));
    }
  });
  replace(main, form);
  input.focus();
  document.documentElement.dataset.rendered = 'sign-in';
}
