// Shared by the bench's parts: statistics, file selection, the dist folder, and running a measuring child.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The build to measure: dist/ (LOCKPATH_BENCH_DIST may point at a copy, so a rebuild elsewhere cannot wipe it). */
export const dist = process.env.LOCKPATH_BENCH_DIST ? join(process.env.LOCKPATH_BENCH_DIST) : join(root, 'dist');

export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (!n) return undefined;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { median, min: s[0], max: s[n - 1], n };
}

/** Nearest-rank percentile. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** All .c/.h files under dir, relative, sorted. */
export function walkSources(dir) {
  const out = [];
  const go = (d) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) go(p);
      else if (/\.[ch]$/.test(n)) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  go(dir);
  return out;
}

export function linuxTree() {
  if (process.env.LOCKPATH_LINUX_6_1) return process.env.LOCKPATH_LINUX_6_1;
  return join(process.env.LOCKPATH_CACHE ?? join(homedir(), '.cache', 'lockpath'), 'linux-source-6.1');
}

/**
 * The CLI's selection for a kernel tree, simply: virt/kvm/**, arch/arm64/kvm/** without hyp/**, include/kvm/**,
 * arch/arm64/include/asm/kvm_*.h and include/linux/kvm_host.h (.c and .h files only).
 */
export function kernelFiles(tree) {
  const under = (d) => (existsSync(join(tree, d)) ? walkSources(join(tree, d)).map((f) => `${d}/${f}`) : []);
  const asm = existsSync(join(tree, 'arch/arm64/include/asm'))
    ? readdirSync(join(tree, 'arch/arm64/include/asm')).filter((n) => /^kvm_.*\.h$/.test(n)).map((n) => `arch/arm64/include/asm/${n}`)
    : [];
  const files = [
    ...under('virt/kvm'),
    ...under('arch/arm64/kvm').filter((f) => !f.startsWith('arch/arm64/kvm/hyp/')),
    ...under('include/kvm'),
    ...asm,
    ...(existsSync(join(tree, 'include/linux/kvm_host.h')) ? ['include/linux/kvm_host.h'] : []),
  ];
  return [...new Set(files)].sort();
}

/**
 * Runs `node [nodeArgs] script` with a JSON job on argv; the child prints its result as one JSON line last.
 * Kills only that child (by its pid) when it runs past timeoutMs.
 */
export function runChild(script, job, { timeoutMs, nodeArgs = [] }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, script, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      let result;
      try {
        result = JSON.parse(last);
      } catch {
        result = undefined;
      }
      if (timedOut) resolve({ error: `timed out after ${Math.round(timeoutMs / 1000)} s` });
      else if (!result) resolve({ error: `exit ${code}: ${(err || out).trim().split('\n').slice(-3).join(' | ').slice(0, 300)}` });
      else resolve(result);
    });
  });
}

/**
 * The i-th benchmark edit, one line inside a function body at `line`: even edits insert a new comment line there
 * (the lines below move), odd ones rewrite that line's comment. Every text is new, so no edit can be answered from
 * an earlier result for the same text. LSP-style range (zero-based line and character) and text.
 */
export function benchEdit(i, line) {
  const comment = (n) => `\t/* lockpath bench edit ${n} */`;
  if (i % 2 === 0) return { start: { line, character: 0 }, end: { line, character: 0 }, text: `${comment(i)}\n` };
  return { start: { line, character: 0 }, end: { line, character: comment(i - 1).length }, text: comment(i) };
}

/**
 * Median wall time of `runs` whole `lockpath check --json PATH` processes (node's start, loading, wasm compilation,
 * analysis, output): cold (--no-cache), and with the caches (facts, explorations) filled by one untimed run before.
 */
export function timeCli(dir, runs) {
  const bin = join(root, 'bin', 'lockpath.js');
  const cache = mkdtempSync(join(tmpdir(), 'lockpath-bench-cache-'));
  const once = (extra) => {
    const t = performance.now();
    const r = spawnSync(process.execPath, [bin, 'check', dir, '--json', ...extra], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, LOCKPATH_CACHE: cache } });
    const ms = performance.now() - t;
    // Exit 1 means races were found; 2 is bad input.
    if (r.error || (r.status !== 0 && r.status !== 1)) throw new Error((r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(-2).join(' | ') || `exit ${r.status}`);
    return ms;
  };
  try {
    const cold = Array.from({ length: runs }, () => once(['--no-cache']));
    once([]);
    const cached = Array.from({ length: runs }, () => once([]));
    return { coldMs: stats(cold), cachedMs: stats(cached) };
  } catch (e) {
    return { error: e.message };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}
