// The peer: Coccinelle's spatch running bench/unguarded-root.cocci (reads of the stage-2 root with no dominating
// NULL check in the same function) over the same files, timed as a whole process like `spatch` on the command line.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root, stats } from './common.mjs';

export const cocci = join(root, 'bench', 'unguarded-root.cocci');

export function spatchVersion() {
  const r = spawnSync('spatch', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0].trim();
}

/** Median wall time of `runs` spatch runs over `files` (relative to dir), with -D rule (pgd or pgt). */
export function timeSpatch(dir, files, rule, runs) {
  const args = ['--sp-file', cocci, '-D', rule, '--no-includes', '--very-quiet', ...files];
  const ms = [];
  let reports = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync('spatch', args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
    ms.push(performance.now() - t);
    if (r.error || r.status !== 0) return { error: (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-2).join(' | ') || `exit ${r.status}` };
    reports = r.stdout.split('\n').filter((l) => /no dominating NULL check/.test(l));
  }
  return { ms: stats(ms), reports: reports.length, sample: reports.slice(0, 3) };
}
