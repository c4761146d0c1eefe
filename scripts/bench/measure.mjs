// One input, in its own process (so its peak RSS is its own): first the full analysis as a fresh process meets it
// (nothing compiled or optimized yet: the wasm parser and lockpath's code run cold), then, alternating, parse-only
// time (the floor, steady state) and the full analysis on a fresh Workspace (parse + index + contexts + simulation
// + findings), steady state like the floor; optionally the warm re-analysis on the same Workspace, a new Workspace
// whose index cache is filled (the CLI's warm start), and in-process incremental edits.
// No forced GC before a timed run (see the loop). Prints one JSON line. Run by scripts/bench.mjs, with --expose-gc
// (one GC before the first run only).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { benchEdit, dist, percentile, stats } from './common.mjs';

const job = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const { loadParser, Workspace } = require(join(dist, 'lib', 'analysis.js'));
const gc = globalThis.gc ?? (() => {});
const rssMb = () => process.resourceUsage().maxRSS / 1024;

const parser = await loadParser();
const files = job.files.map((f) => [f, readFileSync(join(job.dir, f), 'utf8')]);
const lines = files.reduce((n, [, t]) => n + t.split('\n').length, 0);

// The first analysis in this process, before anything else has run: what a one-shot run pays for compiling and
// optimizing on the way (the whole CLI process, with node's start, is timed by the bench itself).
gc();
const t0 = performance.now();
const first = new Workspace(parser);
for (const [p, text] of files) first.setFile(p, text);
first.analyze();
const firstMs = performance.now() - t0;
// The high-water mark of a fresh process that has done one full analysis.
const peakRssMb = rssMb();
first.dispose();

// Steady state, for the analysis as for the floor: untimed analyses until about two seconds have gone into them (at
// least one, at most 15), so the timed runs below meet optimized code.
const analyzeOnce = (options) => {
  const ws = new Workspace(parser, options);
  for (const [p, text] of files) ws.setFile(p, text);
  ws.analyze();
  ws.dispose();
};
for (let n = 0, warmStarted = performance.now(); n < 15 && (n === 0 || performance.now() - warmStarted < 2000); n++) analyzeOnce();

const parseAll = () => {
  const t = performance.now();
  for (const [, text] of files) parser.parse(text).delete();
  return performance.now() - t;
};
// One untimed pass first: the floor is steady-state parsing, not wasm compilation and JIT warm-up. A small input's
// parse time is a few ms: each run takes the median of five passes, so one GC pause does not move the floor.
const parseReps = parseAll() < 100 ? 5 : 1;

// The index cache a start can find filled (the CLI keeps it on disk; here in memory, as JSON text, so a hit pays
// the deserialisation but no file I/O). Filled by an untimed analysis after the first run (after its RSS is taken).
const store = new Map();
const indexCache = job.cachedStart ? { get: (k) => (store.has(k) ? JSON.parse(store.get(k)) : undefined), put: (k, facts) => store.set(k, JSON.stringify(facts)) } : undefined;

const parse = [];
const full = [];
const warm = [];
const cached = [];
let facts;
let lastModel;
const started = performance.now();
for (let i = 0; i < job.runs; i++) {
  const runStarted = performance.now();
  parse.push(stats(Array.from({ length: parseReps }, parseAll)).median);

  // No forced GC before either: a full GC with no analysis alive takes the objects' shapes, and with them the
  // optimized code that uses them (twice the time on the next run). The language server never forces one; its GCs
  // come as they come, and so do these (inside the timed runs, where they count).
  let t = performance.now();
  const ws = new Workspace(parser);
  for (const [p, text] of files) ws.setFile(p, text);
  const a = ws.analyze();
  full.push(performance.now() - t);
  lastModel = a.model;
  facts = {
    model: a.model.id,
    functions: a.stats.functions,
    entries: a.entries.length,
    chains: a.stats.chains,
    states: a.stats.states,
    findings: a.findings.length,
    verdicts: a.chains.reduce((m, c) => ((m[c.verdict.verdict] = (m[c.verdict.verdict] ?? 0) + 1), m), {}),
  };
  if (job.warm) {
    t = performance.now();
    ws.analyze();
    warm.push(performance.now() - t);
  }
  ws.dispose();
  if (indexCache) {
    if (!store.size) analyzeOnce({ indexCache });
    t = performance.now();
    analyzeOnce({ indexCache });
    cached.push(performance.now() - t);
  }
  // Stop before a run that would take this input past its budget (one run always happens).
  const now = performance.now();
  if (now - started + (now - runStarted) > job.budgetMs) break;
}

// Cold indexing alone (Workspace.facts: parse + index): on one thread, in runs one after another like the parse
// floor's (the ratio to the floor); then on one thread and on two (this one and the index helper worker),
// alternating, after untimed two-thread runs so the helper has started and warmed up (the parallel speed-up).
let threads;
if (job.threads && facts) {
  const model = lastModel;
  const byThreads = { 1: [], 2: [] };
  const coldIndex = (indexThreads) => {
    const ws = new Workspace(parser, { indexThreads });
    for (const [p, text] of files) ws.setFile(p, text);
    const t = performance.now();
    ws.facts(model);
    const ms = performance.now() - t;
    ws.dispose();
    return ms;
  };
  const alone = Array.from({ length: Math.max(3, job.runs) }, () => coldIndex(1));
  // The helper's code is as cold as a fresh process's (it indexes half the files of each run): several untimed runs
  // first, as the one-thread code has had the analyses above.
  for (let i = 0; i < 5; i++) coldIndex(2);
  for (let i = 0; i < Math.max(3, job.runs); i++) for (const n of [1, 2]) byThreads[n].push(coldIndex(n));
  threads = { alone: stats(alone), one: stats(byThreads[1]), two: stats(byThreads[2]), speedup: stats(byThreads[1]).median / stats(byThreads[2]).median };
}

// In-process incremental edits (the library alone, no LSP): the same edits as through the server (benchEdit: a
// comment line inserted or rewritten inside a function body), applyChanges + analyze each time.
let incremental;
if (job.edits && job.editFile) {
  const ws = new Workspace(parser);
  for (const [p, text] of files) ws.setFile(p, text);
  ws.analyze();
  const text = files.find(([p]) => p === job.editFile)[1];
  const line = text.split('\n').findIndex((l) => l.includes(job.editAnchor));
  if (line >= 0) {
    const ms = [];
    for (let i = 0; i < job.edits; i++) {
      const change = benchEdit(i, line);
      const t = performance.now();
      ws.applyChanges(job.editFile, [change]);
      ws.analyze();
      ms.push(performance.now() - t);
    }
    incremental = { edits: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms) };
  }
  ws.dispose();
}

console.log(JSON.stringify({
  files: files.length,
  lines,
  runs: full.length,
  parseMs: stats(parse),
  analysisMs: stats(full),
  firstMs,
  warmMs: stats(warm),
  cachedStartMs: stats(cached),
  peakRssMb,
  peakRssAllRunsMb: rssMb(),
  ...facts,
  incremental,
  threads,
}));
