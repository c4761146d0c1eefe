// The history sweep (issue 16): `lockpath history` over a generated 200-commit history of the example tree, each
// commit touching one to three files (a new helper function or a changed comment), timed as whole processes:
// once with the caches off (--no-cache: the one Workspace still re-reads only what each commit changed) and once
// with the on-disk caches filled by a first run. Prints commits per second. Runs alone too:
//   node scripts/bench/history.mjs        (LOCKPATH_BENCH_HISTORY_COMMITS, default 200)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root, walkSources } from './common.mjs';

const git = (dir, args, input) => {
  const r = spawnSync('git', ['-c', 'user.email=bench@lockpath.invalid', '-c', 'user.name=bench', '-c', 'commit.gpgsign=false', ...args], { cwd: dir, input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`git ${args[0]}: ${r.stderr}`);
  return r.stdout.trim();
};

/** A repository holding the example, then `commits` commits written with git fast-import (seeded, reproducible). */
export function generateHistory(commits, dir = mkdtempSync(join(tmpdir(), 'lockpath-bench-history-'))) {
  const example = join(root, 'examples', 'v4.12');
  cpSync(example, dir, { recursive: true });
  rmSync(join(dir, 'expected.json'));
  git(dir, ['init', '-q']);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'the v4.12 example']);
  const files = walkSources(dir);
  const texts = new Map(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
  let seed = 16;
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let stream = '';
  const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  for (let i = 1; i <= commits; i++) {
    const touched = new Set();
    const count = 1 + random(3);
    while (touched.size < count) touched.add(files[random(files.length)]);
    stream += `commit refs/heads/master\ncommitter bench <bench@lockpath.invalid> ${1700000000 + i} +0000\n${data(`bench commit ${i}`)}`;
    if (i === 1) stream += 'from refs/heads/master^0\n';
    for (const f of touched) {
      // Half the edits add a helper (new facts, the same chains); half change a comment (positions only).
      const add = random(2) === 0 ? `\nstatic int bench_helper_${i}(int x)\n{\n\treturn x + ${i};\n}\n` : `\n/* bench edit ${i} */\n`;
      texts.set(f, texts.get(f) + add);
      stream += `M 100644 inline ${f}\n${data(texts.get(f))}`;
    }
  }
  git(dir, ['fast-import', '--quiet'], stream);
  git(dir, ['reset', '-q', '--hard', 'master']);
  return dir;
}

/** Times `lockpath history` over the generated range: cold (--no-cache) and with the disk caches filled. */
export function benchHistory(commits = Number(process.env.LOCKPATH_BENCH_HISTORY_COMMITS ?? 200)) {
  const dir = generateHistory(commits);
  const cache = mkdtempSync(join(tmpdir(), 'lockpath-bench-history-cache-'));
  // GNU time, when present, also gives the CPU seconds: on a shared machine wall time says more about the neighbours.
  const timed = existsSync('/usr/bin/time');
  const run = (extra) => {
    const command = [process.execPath, join(root, 'bin', 'lockpath.js'), 'history', `HEAD~${commits}..HEAD`, '--json', ...extra];
    const t = performance.now();
    const r = timed
      ? spawnSync('/usr/bin/time', ['-f', 'lockpath-cpu %U %S', ...command], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, LOCKPATH_CACHE: cache } })
      : spawnSync(command[0], command.slice(1), { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, LOCKPATH_CACHE: cache } });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`lockpath history exited ${r.status}: ${r.stderr}`);
    const h = JSON.parse(r.stdout);
    const cpu = /lockpath-cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
    const cpuS = cpu ? Number(cpu[1]) + Number(cpu[2]) : undefined;
    return { ms, cpuS, commits: h.commits.length, perSecond: h.commits.length / (ms / 1000), perCpuSecond: cpuS ? h.commits.length / cpuS : undefined, findings: h.findings.length };
  };
  try {
    const cold = run(['--no-cache']);
    run([]); // fills the caches
    const cached = run([]);
    return { commits, cold, cached };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
}

export function historyLines(h) {
  const cpu = (r) => (r.cpuS ? `, ${r.perCpuSecond.toFixed(1)} per CPU second` : '');
  return [
    `history sweep (${h.commits} generated commits on the example, 1-3 files each; lockpath history as one process): ` +
      `${h.cold.perSecond.toFixed(1)} commits/s with --no-cache (${(h.cold.ms / 1000).toFixed(1)} s${cpu(h.cold)}), ` +
      `${h.cached.perSecond.toFixed(1)} commits/s with the caches filled (${(h.cached.ms / 1000).toFixed(1)} s${cpu(h.cached)}); ${h.cold.findings} findings over the range`,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const h = benchHistory();
  for (const l of historyLines(h)) console.log(l);
  console.log(`target >= 5 commits/s: ${h.cold.perSecond >= 5 ? 'met' : 'NOT met'} (${h.cold.perSecond.toFixed(1)} cold)`);
  writeFileSync(join(root, 'dist', 'bench-history.json'), `${JSON.stringify(h, null, 2)}\n`);
}
