// npm run bench: parse-only time (the floor) against full analysis time on each input, medians over repeated runs
// with min/max shown, and the simulator's state count. Prints a table and writes dist/bench.json. A benchmark, not
// a test: it asserts nothing.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { loadParser, Workspace } = require(join(root, 'dist', 'lib', 'analysis.js'));

const walk = (d) => readdirSync(d).sort().flatMap((n) => {
  const p = join(d, n);
  return statSync(p).isDirectory() ? walk(p) : /\.[ch]$/.test(n) ? [p] : [];
});

const inputs = [
  ['bundled example (v4.12)', join(root, 'examples', 'v4.12')],
  ['history v4.10 mmu.c', join(root, 'test', 'fixtures', 'history', 'v4.10')],
  ['history v4.13 mmu.c', join(root, 'test', 'fixtures', 'history', 'v4.13')],
];
const runs = Number(process.env.LOCKPATH_BENCH_RUNS ?? 7);
const parser = await loadParser();
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
};

const rows = [];
for (const [name, dir] of inputs) {
  const files = walk(dir).map((f) => [relative(dir, f), readFileSync(f, 'utf8')]);
  const lines = files.reduce((n, [, t]) => n + t.split('\n').length, 0);
  const parse = [];
  const full = [];
  let states = 0;
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    for (const [, text] of files) parser.parse(text).delete();
    parse.push(performance.now() - t);
    t = performance.now();
    const ws = new Workspace(parser);
    for (const [p, text] of files) ws.setFile(p, text);
    const a = ws.analyze();
    full.push(performance.now() - t);
    states = a.stats.states;
    ws.dispose();
  }
  const p = stats(parse);
  const f = stats(full);
  rows.push({ input: name, files: files.length, lines, parseMs: p, analysisMs: f, ratio: f.median / p.median, states, peakRssMb: process.resourceUsage().maxRSS / 1024 });
}

const fmt = (s) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}-${s.max.toFixed(1)})`;
console.log(`lockpath bench: ${runs} runs each, node ${process.version}, ${process.arch}`);
console.log(['input'.padEnd(28), 'lines'.padStart(6), 'parse ms'.padStart(22), 'analysis ms'.padStart(24), 'ratio'.padStart(7), 'states'.padStart(8)].join(' '));
for (const r of rows) {
  console.log([r.input.padEnd(28), String(r.lines).padStart(6), fmt(r.parseMs).padStart(22), fmt(r.analysisMs).padStart(24), r.ratio.toFixed(1).padStart(7), String(r.states).padStart(8)].join(' '));
}
console.log(`peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
writeFileSync(join(root, 'dist', 'bench.json'), `${JSON.stringify({ runs, node: process.version, rows }, null, 2)}\n`);
