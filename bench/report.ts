// Turns the measured rows into what a person reads: a table, the ratios gateway/reference,
// each target with PASS or MISS (never an exit code: figures on a shared machine are noisy),
// and the same as JSON in bench/results/<timestamp>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Row } from './scenarios.js';
import type { Settings } from './settings.js';

export interface Ratio {
  label: string;
  /** req/s of the first over req/s of the second: what the targets judge. */
  value: number | null;
  /** CPU us/req of the second over the first's: the same comparison, less moved by busy neighbours. */
  cpuValue: number | null;
  /** The target, when this ratio has one: at least `min`. */
  min?: number;
  verdict?: 'PASS' | 'MISS';
  note?: string;
}

const find = (rows: Row[], group: string, name: string) => rows.find((r) => r.group === group && r.name.startsWith(name));

function ratio(label: string, num: Row | undefined, den: Row | undefined, min?: number): Ratio {
  const value = num && den && den.load.reqPerSec > 0 ? num.load.reqPerSec / den.load.reqPerSec : null;
  const cpuValue = num && den && num.cpuUsPerReq > 0 ? den.cpuUsPerReq / num.cpuUsPerReq : null;
  const notes = [num, den].flatMap((r) => (r?.note && r.name === 'hit' ? [`${r.group} hit row measured the miss path`] : []));
  const out: Ratio = { label, value, cpuValue, note: notes.join('; ') || undefined };
  if (min !== undefined && value !== null) Object.assign(out, { min, verdict: value >= min ? 'PASS' : 'MISS' });
  return out;
}

export function ratios(rows: Row[], settings: Settings): Ratio[] {
  const ref = (name: string) => find(rows, 'reference', name);
  const gw = (backend: string, name: string) => find(rows, `gateway ${backend}`, name);
  const out: Ratio[] = [];
  for (const b of settings.backends) {
    out.push(ratio(`${b} miss / upstream direct`, gw(b, 'miss'), ref('upstream direct')));
    out.push(ratio(`${b} miss / bare http-proxy`, gw(b, 'miss'), ref('bare http-proxy'), b === 'sqlite' ? 1.3 : undefined));
    out.push(ratio(`${b} hit / bare sha256+Map`, gw(b, 'hit'), ref('bare sha256+Map'), b === 'sqlite' ? 0.9 : undefined));
    out.push(ratio(`${b} quota reject / bare sha256+Map`, gw(b, 'quota reject'), ref('bare sha256+Map')));
  }
  if (settings.traces) {
    for (const b of settings.backends) {
      for (const name of ['miss', 'hit']) out.push(ratio(`${b} ${name} +traces / untraced`, find(rows, `gateway ${b} +traces`, name), gw(b, name)));
    }
  }
  for (const ref of settings.baselines) {
    for (const b of settings.backends) {
      for (const name of ['miss', 'hit', 'quota reject']) {
        out.push(ratio(`${b} ${name} / @${ref}`, gw(b, name), find(rows, `gateway ${b} @${ref}`, name)));
      }
    }
  }
  if (settings.backends.includes('cluster') && settings.backends.includes('redis')) {
    out.push(ratio('cluster hit / redis hit', gw('cluster', 'hit'), gw('redis', 'hit')));
    out.push(ratio('cluster miss / redis miss', gw('cluster', 'miss'), gw('redis', 'miss')));
  }
  if (settings.backends.includes('redis') && settings.backends.includes('sqlite')) {
    out.push(ratio('redis hit / sqlite hit', gw('redis', 'hit'), gw('sqlite', 'hit'), 0.8));
    out.push(ratio('redis miss / sqlite miss', gw('redis', 'miss'), gw('sqlite', 'miss'), 0.8));
  }
  return out;
}

export interface Check {
  label: string;
  verdict: 'PASS' | 'MISS';
  detail: string;
}

/** Targets that are not ratios: one upstream call per burst, RSS after the memory run. */
export function checks(rows: Row[], settings: Settings): Check[] {
  const out: Check[] = [];
  for (const row of rows.filter((r) => r.name.startsWith('burst'))) {
    const ok = row.upstreamCalls === 1;
    out.push({ label: `${row.group} coalescing burst: 1 upstream call`, verdict: ok ? 'PASS' : 'MISS', detail: row.note ?? '' });
  }
  const memory = rows.find((r) => r.group === 'memory');
  if (memory) {
    const full = memory.load.requests >= 1_000_000 && settings.memoryPrompts >= 200_000;
    const detail =
      `${memory.rssMb.toFixed(0)} MB after ${memory.load.requests} requests over ${settings.memoryPrompts} prompts ` +
      `(${memory.rssBeforeMb.toFixed(0)} MB at start)` +
      (full ? '' : ' (reduced run, not the 1M / 200k of the target)');
    out.push({ label: 'memory run: RSS < 250 MB', verdict: memory.rssMb < 250 ? 'PASS' : 'MISS', detail });
  }
  return out;
}

const pad = (s: string, n: number, right = false) => (right ? s.padStart(n) : s.padEnd(n));
const fixed = (n: number, digits = 0) => n.toFixed(digits);

export function table(rows: Row[]): string {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'CPU us/req', 'RSS MB', 'upstream', 'answers'];
  const body = rows.map((r) => [
    `${r.group}: ${r.name}`,
    fixed(r.load.reqPerSec),
    fixed(r.load.p50, 1),
    fixed(r.load.p99, 1),
    fixed(r.load.max, 1),
    fixed(r.cpuUsPerReq),
    fixed(r.rssMb),
    String(r.upstreamCalls),
    Object.entries(r.load.statuses).map(([code, n]) => `${code}x${n}`).join(' ') +
      (r.load.errors ? ` errors x${r.load.errors}` : ''),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i], i > 0 && i < 7)).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function printReport(rows: Row[], settings: Settings, notes: string[], extraChecks: Check[] = []): { ratios: Ratio[]; checks: Check[] } {
  const rs = ratios(rows, settings);
  const cs = [...checks(rows, settings), ...extraChecks];
  const shown = rs.filter((x) => x.value !== null);
  const lines = ['', table(rows)];
  if (shown.length > 0) lines.push('', 'Ratios, gateway / reference (req/s; in brackets the same by CPU us/req, reference / gateway):');
  for (const r of shown) {
    const value = `${r.value!.toFixed(2)}x`;
    const cpu = r.cpuValue === null ? '' : `(${r.cpuValue.toFixed(2)}x)`;
    const target = r.min === undefined ? '' : `  target >= ${r.min}x  ${r.verdict}`;
    lines.push(`  ${pad(r.label, 38)} ${pad(value, 6, true)} ${pad(cpu, 8, true)}${target}${r.note ? `  (${r.note})` : ''}`);
  }
  if (cs.length > 0) lines.push('', 'Other targets:');
  for (const c of cs) lines.push(`  ${pad(c.label, 50)} ${c.verdict}  ${c.detail}`);
  // Burst notes are already in the targets above.
  const rowNotes = rows.filter((r) => r.note && !r.name.startsWith('burst')).map((r) => `${r.group}: ${r.name}: ${r.note}`);
  if (rowNotes.length + notes.length > 0) lines.push('', 'Notes:', ...[...rowNotes, ...notes].map((n) => `  - ${n}`));
  console.log(lines.join('\n'));
  return { ratios: rs, checks: cs };
}

export function writeResults(dir: string, data: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ machine: { cpus: cpus().length, node: process.version }, ...data }, null, 2) + '\n');
  return file;
}
