// The console's entry: shows the page the URL's hash names (#/, #/team/<name>, #/usage,
// #/audit), loading its data while it asks who is signed in; the sign-in page when nobody is.
// The hash never carries a credential.
import { api } from './api.js';
import { el, notice, replace } from './dom.js';
import { loadAudit, renderAudit } from './pages/audit.js';
import { loadOverview, renderOverview } from './pages/overview.js';
import { renderSignIn } from './pages/sign-in.js';
import { loadTeam, renderTeam } from './pages/team.js';
import { loadUsage, renderUsage } from './pages/usage.js';

const main = document.getElementById('main');
// This module runs as soon as it arrives (async), so the page's data is asked for while the
// deferred Chart.js is still being read; rendering waits for it (it runs before DOMContentLoaded).
const chartsReady = new Promise((resolve) => {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', resolve, { once: true });
  else resolve();
});
/** Who is signed in: a promise while asking, null when nobody is. */
let identity = api.session().catch(() => null);

const routes = [
  { match: /^#?\/?$/, nav: 'overview', load: () => loadOverview(), render: renderOverview },
  { match: /^#\/team\/([^?]+)$/, nav: 'team', load: (m) => loadTeam(decodeURIComponent(m[1])), render: renderTeam },
  { match: /^#\/usage(?:\?.*)?$/, nav: 'usage', load: (_m, params) => loadUsage(params), render: renderUsage },
  { match: /^#\/audit(?:\?.*)?$/, nav: 'audit', load: (_m, params) => loadAudit(params), render: renderAudit },
];

function showIdentity(who) {
  document.getElementById('nav').hidden = !who;
  document.getElementById('who').hidden = !who;
  if (!who) return;
  document.getElementById('who-name').textContent = who.name;
  document.getElementById('who-role').textContent = who.role === 'admin' ? 'admin' : 'viewer (read only)';
  document.body.classList.toggle('viewer', who.role !== 'admin');
}

function signIn() {
  showIdentity(null);
  renderSignIn(main, async (who) => {
    identity = Promise.resolve(who);
    await route();
  });
}

async function route() {
  document.documentElement.removeAttribute('data-rendered');
  const hash = location.hash || '#/';
  const found = routes.map((r) => ({ r, m: r.match.exec(hash) })).find((x) => x.m);
  if (!found) {
    replace(main, notice('No such page.', 'error'), el('a', { href: '#/' }, 'Back to the overview'));
    return;
  }
  const params = new URLSearchParams(hash.split('?')[1] ?? '');
  // The page's data and the identity are asked for at once; a signed-out answer to either shows the sign-in.
  const data = found.r.load(found.m, params);
  data.catch(() => {});
  const who = await identity;
  await chartsReady;
  if (!who) return signIn();
  showIdentity(who);
  for (const link of document.querySelectorAll('[data-nav]')) link.classList.toggle('active', link.dataset.nav === (found.r.nav === 'team' ? 'overview' : found.r.nav));
  try {
    const loaded = await data;
    performance.mark('console:data');
    found.r.render({ main, admin: who.role === 'admin', params, refresh: route }, loaded);
  } catch (err) {
    if (err.status === 401) {
      identity = Promise.resolve(null);
      return signIn();
    }
    replace(main, notice(`Could not load this page: ${err.message}`, 'error'));
  }
  document.documentElement.dataset.rendered = found.r.nav === 'team' ? 'team' : found.r.nav;
  performance.mark('console:rendered');
}

document.getElementById('sign-out').addEventListener('click', async () => {
  await api.signOut().catch(() => {});
  identity = Promise.resolve(null);
  location.hash = '#/';
  signIn();
});
window.addEventListener('hashchange', route);

await route();
