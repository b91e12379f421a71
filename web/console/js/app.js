// The console's entry: finds out who is signed in, then shows the page the URL's hash names
// (#/, #/team/<name>, #/usage, #/audit). The hash never carries a credential.
import { api } from './api.js';
import { el, notice, replace } from './dom.js';
import { renderAudit } from './pages/audit.js';
import { renderOverview } from './pages/overview.js';
import { renderSignIn } from './pages/sign-in.js';
import { renderTeam } from './pages/team.js';
import { renderUsage } from './pages/usage.js';

const main = document.getElementById('main');
let identity = null;

const routes = [
  { match: /^#?\/?$/, nav: 'overview', render: () => renderOverview },
  { match: /^#\/team\/(.+)$/, nav: 'overview', render: (m) => (ctx) => renderTeam(ctx, decodeURIComponent(m[1])) },
  { match: /^#\/usage(?:\?.*)?$/, nav: 'usage', render: () => renderUsage },
  { match: /^#\/audit(?:\?.*)?$/, nav: 'audit', render: () => renderAudit },
];

function showIdentity() {
  document.getElementById('nav').hidden = !identity;
  document.getElementById('who').hidden = !identity;
  if (!identity) return;
  document.getElementById('who-name').textContent = identity.name;
  document.getElementById('who-role').textContent = identity.role === 'admin' ? 'admin' : 'viewer (read only)';
  document.body.classList.toggle('viewer', identity.role !== 'admin');
}

async function route() {
  document.documentElement.removeAttribute('data-rendered');
  if (!identity) {
    showIdentity();
    renderSignIn(main, async (who) => {
      identity = who;
      await route();
    });
    return;
  }
  showIdentity();
  const hash = location.hash || '#/';
  const found = routes.map((r) => ({ r, m: r.match.exec(hash) })).find((x) => x.m);
  if (!found) {
    replace(main, notice('No such page.', 'error'), el('a', { href: '#/' }, 'Back to the overview'));
    return;
  }
  for (const link of document.querySelectorAll('[data-nav]')) link.classList.toggle('active', link.dataset.nav === found.r.nav);
  const ctx = { main, admin: identity.role === 'admin', params: new URLSearchParams(hash.split('?')[1] ?? ''), refresh: route };
  try {
    await found.r.render(found.m)(ctx);
  } catch (err) {
    if (err.status === 401) {
      identity = null;
      return route();
    }
    replace(main, notice(`Could not load this page: ${err.message}`, 'error'));
  }
  document.documentElement.dataset.rendered = found.r.nav;
  performance.mark('console:rendered');
}

document.getElementById('sign-out').addEventListener('click', async () => {
  await api.signOut().catch(() => {});
  identity = null;
  location.hash = '#/';
  await route();
});
window.addEventListener('hashchange', route);

identity = await api.session().catch(() => null);
await route();
