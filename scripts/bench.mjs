// npm run bench (issue 7): a benchmark, not a test -- it asserts nothing, prints a table and writes it as JSON to
// dist/bench.json. For each input: parse-only time (the floor: web-tree-sitter parsing the same texts), full analysis
// time (a fresh Workspace: parse + index + contexts + simulation + findings), their ratio (both in steady state),
// the first analysis in a fresh process, peak RSS, and the states the simulator explored; medians over repeated runs
// with min-max. Inputs: the bundled example, a synthetic
// kernel-sized mmu.c (scripts/gen-synthetic.mjs, written to a temp folder), the real linux-source-6.1 KVM tree when
// present, and synthetic trees 10x and 100x that size. Also: warm re-analysis vs cold, incremental edit latency
// through the real language server, and Coccinelle (spatch) on the same inputs. Each target is printed beside its
// measurement as met / NOT met.
//
// Environment:
//   LOCKPATH_BENCH_RUNS      runs per input (default 5); an input stops early when the next run would take it past
//   LOCKPATH_BENCH_BUDGET_S  seconds per input (default 25; at least one run always happens)
//   LOCKPATH_BENCH_SCALES    the scaled synthetic trees (default "10,100"; "" for none)
//   LOCKPATH_BENCH_EDITS     didChange edits through the language server (default 200)
//   LOCKPATH_BENCH_TIMEOUT_S a measuring child that runs longer is killed and reported as timed out (default 600)
//   LOCKPATH_BENCH_DIST      measure this build instead of dist/ (e.g. a copy, while others rebuild)
//   LOCKPATH_LINUX_6_1       the unpacked 6.1 tree (default ~/.cache/lockpath/linux-source-6.1)
//   LOCKPATH_BENCH_SERVER_ARGS node options for the language server the edits go to (e.g. --cpu-prof)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { dist, kernelFiles, linuxTree, root, runChild, timeCli, walkSources } from './bench/common.mjs';
import { benchHistory, historyLines } from './bench/history.mjs';
import { spatchVersion, timeSpatch } from './bench/spatch.mjs';
import { writeSynthetic } from './gen-synthetic.mjs';

const env = process.env;
const runs = Math.max(1, Number(env.LOCKPATH_BENCH_RUNS ?? 5));
const budgetMs = Number(env.LOCKPATH_BENCH_BUDGET_S ?? 25) * 1000;
const scales = (env.LOCKPATH_BENCH_SCALES ?? '10,100')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const edits = Number(env.LOCKPATH_BENCH_EDITS ?? 200);
const timeoutMs = Number(env.LOCKPATH_BENCH_TIMEOUT_S ?? 600) * 1000;
const benchStarted = performance.now();
const progress = (m) =>
  process.stderr.write(`bench [${((performance.now() - benchStarted) / 1000).toFixed(0)} s] ${m}\n`);

if (!existsSync(join(dist, 'lib', 'analysis.js'))) {
  console.error(`lockpath bench: ${join(dist, 'lib', 'analysis.js')} is missing; run npm run build first`);
  process.exit(2);
}

let nproc;
try {
  nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
} catch {
  nproc = String(availableParallelism());
}
const machine = {
  nproc: Number(nproc),
  cpu: cpus()[0]?.model?.trim(),
  memGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  arch: process.arch,
  loadavgAtStart: loadavg()[0],
};

// ---- inputs -------------------------------------------------------------------------------------------------

const EXAMPLE_MMU = 'virt/kvm/arm/mmu.c';
const EDIT_ANCHOR = 'trace_kvm_age_hva(start, end);'; // a line inside kvm_age_hva's body
const tmp = mkdtempSync(join(tmpdir(), 'lockpath-bench-'));
const notes = [];
const inputs = [];
const example = join(root, 'examples', 'v4.12');
inputs.push({
  id: 'example',
  name: 'bundled example (v4.12)',
  dir: example,
  files: walkSources(example),
  warm: true,
  cachedStart: true,
  edits: Math.min(edits, 200),
  editFile: EXAMPLE_MMU,
  editAnchor: EDIT_ANCHOR,
  spatch: 'pgd',
});
const syn1 = writeSynthetic(join(tmp, 'synthetic-1x'), { scale: 1 });
inputs.push({
  id: 'synthetic-1x',
  name: 'synthetic mmu.c (1x)',
  dir: syn1.dir,
  files: walkSources(syn1.dir),
  warm: true,
  spatch: 'pgd',
});
const linux = linuxTree();
if (existsSync(join(linux, 'virt', 'kvm')) && existsSync(join(linux, 'arch', 'arm64', 'kvm', 'mmu.c'))) {
  inputs.push({
    id: 'linux-6.1',
    name: 'linux-source-6.1 KVM',
    dir: linux,
    files: kernelFiles(linux),
    warm: true,
    cachedStart: true,
    spatch: 'pgt',
    threads: true,
  });
} else {
  notes.push(`linux-source-6.1: skipped, ${linux} is absent (scripts/fetch-linux-6.1.sh unpacks it)`);
}
for (const s of scales) {
  const t = writeSynthetic(join(tmp, `synthetic-${s}x`), { scale: s });
  inputs.push({
    id: `synthetic-${s}x`,
    name: `synthetic tree (${s}x)`,
    dir: t.dir,
    files: walkSources(t.dir),
    warm: true,
    threads: s === 10,
  });
}

// ---- lockpath per input, each in its own process ---------------------------------------------------------------

const rows = [];
for (const input of inputs) {
  progress(`${input.name}: ${input.files.length} files ...`);
  const r = await runChild(
    join(root, 'scripts', 'bench', 'measure.mjs'),
    { ...input, runs, budgetMs },
    { timeoutMs, nodeArgs: ['--expose-gc'] },
  );
  rows.push({ id: input.id, input: input.name, ...r });
  progress(`${input.name}: ${r.error ?? `${r.runs} runs, analysis median ${r.analysisMs.median.toFixed(0)} ms`}`);
}
const row = (id) => rows.find((r) => r.id === id && !r.error);

// ---- incremental edits through the language server ----------------------------------------------------------------

let lsp = { unavailable: 'LOCKPATH_BENCH_EDITS=0' };
if (edits > 0) {
  progress(`language server: ${edits} edits of ${EXAMPLE_MMU} ...`);
  lsp = await runChild(
    join(root, 'scripts', 'bench', 'lsp.mjs'),
    { dir: example, file: EXAMPLE_MMU, anchor: EDIT_ANCHOR, edits, timeoutMs: 180_000, editTimeoutMs: 30_000 },
    { timeoutMs: 30_000 + edits * 30_000 },
  );
  if (lsp.error) lsp = { unavailable: lsp.error };
  progress(`language server: ${lsp.unavailable ? `unavailable: ${lsp.unavailable}` : `p50 ${lsp.p50.toFixed(1)} ms`}`);
}
let debounceMs;
try {
  debounceMs =
    Number(
      /DEBOUNCE_MS\s*=\s*(\d+)/.exec(readFileSync(join(root, 'server', 'src', 'lsp', 'server.ts'), 'utf8'))?.[1],
    ) || undefined;
} catch {
  debounceMs = undefined;
}

// ---- the peer: Coccinelle -----------------------------------------------------------------------------------------

const spatch = [];
const sv = spatchVersion();
if (!sv) {
  notes.push('spatch: skipped, Coccinelle is not installed (apt-get install -y coccinelle)');
} else {
  for (const input of inputs.filter((i) => i.spatch)) {
    progress(`spatch on ${input.name} ...`);
    const lp = row(input.id);
    const s = timeSpatch(input.dir, input.files, input.spatch, runs);
    progress(`lockpath check (whole process) on ${input.name} ...`);
    const cli = timeCli(input.dir, Math.min(runs, 3));
    spatch.push({ id: input.id, input: input.name, rule: input.spatch, ...s, lockpathMs: lp?.analysisMs.median, cli });
  }
}

// ---- targets ----------------------------------------------------------------------------------------------------

const targets = [];
const target = (what, measured, met) => targets.push({ target: what, measured, met });
const syn = row('synthetic-1x');
const ex = row('example');
const k61 = row('linux-6.1');
// Both in steady state (the floor is steady-state parsing); the first analysis in a fresh process is shown beside it.
if (syn)
  target(
    'synthetic mmu.c: full analysis <= 2x parse',
    `${syn.analysisMs.median.toFixed(0)} / ${syn.parseMs.median.toFixed(1)} ms = ${(syn.analysisMs.median / syn.parseMs.median).toFixed(1)}x (first run in a fresh process ${syn.firstMs.toFixed(0)} ms)`,
    syn.analysisMs.median <= 2 * syn.parseMs.median,
  );
if (lsp.unavailable)
  targets.push({
    target: 'incremental edit (LSP): p50 <= 10 ms, p99 <= 30 ms',
    measured: `unavailable: ${lsp.unavailable}`,
    met: null,
  });
else {
  target('incremental edit (LSP): p50 <= 10 ms', `${lsp.p50.toFixed(1)} ms`, lsp.p50 <= 10);
  target('incremental edit (LSP): p99 <= 30 ms', `${lsp.p99.toFixed(1)} ms`, lsp.p99 <= 30);
}
if (k61) {
  // The cold index is what a start builds before any question is asked: parse + index of every file (Workspace.facts,
  // one thread); the full analysis (index + contexts + simulation + findings) is in the table beside it.
  if (k61.threads)
    target(
      '6.1 tree: cold index (parse + index) <= 1.5x parse',
      `${k61.threads.alone.median.toFixed(0)} / ${k61.parseMs.median.toFixed(1)} ms = ${(k61.threads.alone.median / k61.parseMs.median).toFixed(2)}x (full analysis ${(k61.analysisMs.median / k61.parseMs.median).toFixed(2)}x)`,
      k61.threads.alone.median <= 1.5 * k61.parseMs.median,
    );
  else
    target(
      '6.1 tree: cold index <= 1.5x parse',
      `full analysis ${k61.analysisMs.median.toFixed(0)} / ${k61.parseMs.median.toFixed(1)} ms = ${(k61.analysisMs.median / k61.parseMs.median).toFixed(2)}x (cold index alone not measured)`,
      k61.analysisMs.median <= 1.5 * k61.parseMs.median,
    );
  target(
    '6.1 tree: warm <= 20% of cold',
    `${k61.warmMs.median.toFixed(1)} / ${k61.analysisMs.median.toFixed(0)} ms = ${((100 * k61.warmMs.median) / k61.analysisMs.median).toFixed(1)}%`,
    k61.warmMs.median <= 0.2 * k61.analysisMs.median,
  );
} else {
  targets.push({
    target: '6.1 tree: cold index <= 1.5x parse; warm <= 20% of cold',
    measured: 'skipped: tree absent',
    met: null,
  });
}
if (ex)
  target(
    'example: warm <= 20% of cold',
    `${ex.warmMs.median.toFixed(1)} / ${ex.analysisMs.median.toFixed(0)} ms = ${((100 * ex.warmMs.median) / ex.analysisMs.median).toFixed(1)}%`,
    ex.warmMs.median <= 0.2 * ex.analysisMs.median,
  );
const growth = {};
for (const s of scales) {
  const big = rows.find((r) => r.id === `synthetic-${s}x`);
  if (!syn || !big) continue;
  if (big.error) {
    growth[`${s}x`] = { error: big.error };
    continue;
  }
  growth[`${s}x`] = { lines: big.lines / syn.lines, time: big.analysisMs.median / syn.analysisMs.median };
}
const g100 = growth['100x'];
if (syn && scales.includes(100)) {
  // A run killed at the timeout decides the target only when the timeout is itself past 120x the 1x time.
  if (g100?.error)
    targets.push({
      target: '100x input <= 120x the 1x time',
      measured: `100x: ${g100.error}`,
      met: /timed out/.test(g100.error) && timeoutMs > 120 * syn.analysisMs.median ? false : null,
    });
  else if (g100)
    target(
      '100x input <= 120x the 1x time',
      `${g100.time.toFixed(1)}x (for ${g100.lines.toFixed(1)}x the lines)`,
      g100.time <= 120,
    );
}
// spatch is a one-shot process: it is compared with one-shot `lockpath check` processes (no index cache), the same
// kind of run. The steady-state in-process analysis (a server re-analysing) is shown beside it.
for (const s of spatch) {
  if (s.error || s.cli?.error)
    targets.push({
      target: `>= 20x faster than spatch (${s.input})`,
      measured: s.error ?? `lockpath check: ${s.cli.error}`,
      met: null,
    });
  else {
    const speedup = s.ms.median / s.cli.coldMs.median;
    const steady = s.lockpathMs
      ? `; steady-state analysis ${s.lockpathMs.toFixed(0)} ms, ${(s.ms.median / s.lockpathMs).toFixed(1)}x as fast`
      : '';
    target(
      `>= 20x faster than spatch (${s.input})`,
      `lockpath check / spatch, whole processes: ${s.cli.coldMs.median.toFixed(0)} / ${s.ms.median.toFixed(0)} ms = ${speedup.toFixed(2)}x as fast${steady}`,
      speedup >= 20,
    );
  }
}
if (!sv) targets.push({ target: '>= 20x faster than spatch', measured: 'skipped: spatch not installed', met: null });
for (const r of rows.filter((x) => x.threads)) {
  target(
    `${r.input}: cold index on 2 threads >= 1.6x as fast as on 1`,
    `${r.threads.one.median.toFixed(0)} / ${r.threads.two.median.toFixed(0)} ms = ${r.threads.speedup.toFixed(2)}x`,
    r.threads.speedup >= 1.6,
  );
}
if (k61) target('6.1 tree: peak RSS <= 150 MB', `${k61.peakRssMb.toFixed(0)} MB`, k61.peakRssMb <= 150);

// ---- history sweep (lockpath history over a generated 200-commit range) -------------------------------------------

progress('history sweep ...');
let history;
try {
  history = benchHistory();
  target(
    'history sweep >= 5 commits/s',
    `${history.cold.perSecond.toFixed(1)} commits/s (--no-cache), ${history.cached.perSecond.toFixed(1)} with caches filled`,
    history.cold.perSecond >= 5,
  );
} catch (e) {
  history = { error: e.message };
  notes.push(`history sweep: ${e.message}`);
}

// ---- print ------------------------------------------------------------------------------------------------------

const f1 = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const fmt = (s) => (s ? `${f1(s.median)} (${f1(s.min)}-${f1(s.max)})` : '-');
const table = (head, body) => {
  const all = [head, ...body];
  const w = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  return all
    .map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  '))
    .join('\n');
};
console.log(
  `lockpath bench: ${machine.nproc} cores (${machine.cpu}), ${machine.memGb} GB, node ${machine.node} ${machine.arch}; up to ${runs} runs per input (budget ${budgetMs / 1000} s each), medians (min-max)`,
);
console.log('');
console.log(
  table(
    [
      'input',
      'files',
      'lines',
      'runs',
      'parse ms',
      'analysis ms',
      'ratio',
      'first run ms',
      'warm ms',
      'cached ms',
      'RSS MB',
      'states',
      'chains',
      'findings',
    ],
    rows.map((r) =>
      r.error
        ? [r.input, '', '', '', '', r.error, '', '', '', '', '', '', '', '']
        : [
            r.input,
            r.files,
            r.lines,
            r.runs,
            fmt(r.parseMs),
            fmt(r.analysisMs),
            `${(r.analysisMs.median / r.parseMs.median).toFixed(1)}x`,
            f1(r.firstMs),
            r.warmMs ? f1(r.warmMs.median) : '-',
            r.cachedStartMs ? f1(r.cachedStartMs.median) : '-',
            r.peakRssMb.toFixed(0),
            r.states,
            r.chains,
            r.findings,
          ],
    ),
  ),
);
console.log(
  'analysis: new Workspace, setFile, analyze (parse + index + contexts + simulation + findings), steady state like the parse floor;',
);
console.log(
  'first run: the same, as the first thing a fresh process does (nothing compiled or optimized yet); warm: analyze again on that Workspace;',
);
console.log(
  "cached: a new Workspace whose index cache (in memory) already holds every file's facts, as the CLI's warm start; RSS: peak after the first run",
);
for (const r of rows.filter((x) => x.threads)) {
  console.log(
    `cold index alone (Workspace.facts: parse + index), ${r.input}: ${fmt(r.threads.alone)} ms (one thread, ${r.threads.alone.n} runs in a row); alternating ${r.threads.one.n} runs each: 1 thread ${fmt(r.threads.one)} ms, 2 threads ${fmt(r.threads.two)} ms: ${r.threads.speedup.toFixed(2)}x`,
  );
}
for (const [k, g] of Object.entries(growth)) {
  console.log(
    g.error
      ? `growth ${k}: ${g.error}`
      : `growth ${k}: ${g.lines.toFixed(1)}x the lines -> ${g.time.toFixed(1)}x the analysis time (1x -> ${k})`,
  );
}
console.log('');
if (lsp.unavailable) console.log(`incremental edit via the language server: unavailable: ${lsp.unavailable}`);
else {
  console.log(
    `incremental edit via the language server (${lsp.edits} didChange -> publishDiagnostics, ${EXAMPLE_MMU} of the example): p50 ${lsp.p50.toFixed(1)} ms, p99 ${lsp.p99.toFixed(1)} ms (min ${lsp.min.toFixed(1)}, max ${lsp.max.toFixed(1)}); first diagnostics ${lsp.openToDiagnosticsMs.toFixed(0)} ms after initialize${debounceMs ? `; includes the server's ${debounceMs} ms debounce (DEBOUNCE_MS)` : ''}`,
  );
}
if (ex?.incremental)
  console.log(
    `incremental edit in process (Workspace.applyChanges + analyze, ${ex.incremental.edits} edits, no LSP): p50 ${ex.incremental.p50.toFixed(1)} ms, p99 ${ex.incremental.p99.toFixed(1)} ms`,
  );
if (!history.error) for (const l of historyLines(history)) console.log(l);
if (spatch.length) {
  console.log('');
  console.log(`peer: ${sv}, bench/unguarded-root.cocci (--no-includes, one process over all files), ${runs} runs`);
  console.log(
    table(
      [
        'input',
        'rule',
        'spatch ms',
        'reports',
        'lockpath check ms',
        'with caches filled',
        'steady analysis ms',
        'check/spatch',
      ],
      spatch.map((s) =>
        s.error
          ? [s.input, s.rule, s.error, '', '', '', '', '']
          : s.cli?.error
            ? [s.input, s.rule, fmt(s.ms), s.reports, s.cli.error, '', '', '']
            : [
                s.input,
                s.rule,
                fmt(s.ms),
                s.reports,
                fmt(s.cli.coldMs),
                fmt(s.cli.cachedMs),
                s.lockpathMs ? f1(s.lockpathMs) : '-',
                (s.cli.coldMs.median / s.ms.median).toFixed(2),
              ],
      ),
    ),
  );
  console.log(
    'lockpath check: the whole process (node start, wasm compilation, analysis, JSON out), --no-cache; with caches filled: after one run filled the caches of facts and explorations',
  );
}
console.log('');
console.log(
  table(
    ['target', 'measured', ''],
    targets.map((t) => [t.target, t.measured, t.met === null ? 'n/a' : t.met ? 'met' : 'NOT met']),
  ),
);
for (const n of notes) console.log(`note: ${n}`);
const totalS = (performance.now() - benchStarted) / 1000;
machine.loadavgAtEnd = loadavg()[0];
console.log(
  `bench took ${totalS.toFixed(0)} s; 1-minute load average ${machine.loadavgAtStart.toFixed(2)} at the start, ${machine.loadavgAtEnd.toFixed(2)} at the end (the bench alone keeps about one of the cores busy; more means other work shared the machine)`,
);

mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(
  join(root, 'dist', 'bench.json'),
  `${JSON.stringify({ machine, runs, budgetS: budgetMs / 1000, rows, growth, lsp: { ...lsp, debounceMs }, history, spatch: { version: sv, results: spatch }, targets, notes, totalS }, null, 2)}\n`,
);
rmSync(tmp, { recursive: true, force: true });
