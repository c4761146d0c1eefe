// The `lockpath` command as a user runs it: bin/lockpath.js in a child process, on the bundled example, the
// fixtures, and bad input. SARIF output is checked by the SARIF multitool's validator and its 2.1.0 schema.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import { exampleDir, fixturesDir, repoRoot, scratchDir } from '../helpers';
import { CACHE_MARKER, KEPT_OTHER_BUILDS } from '../../server/src/files/index-cache';

const bin = join(repoRoot, 'bin', 'lockpath.js');

function lockpath(args: string[], cwd = tmpdir()): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('lockpath check', () => {
  it('demo analyses the bundled example, prints the races with timelines, and exits 1', () => {
    const r = lockpath(['demo']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /model kvm-arm-v4/);
    assert.equal((r.out.match(/: error: kvm->arch\.pgd may be NULL here/g) ?? []).length, 3);
    assert.match(r.out, /virt\/kvm\/arm\/mmu\.c:\d+:\d+: error: .*\[unguarded-notifier-path\] LP[0-9A-F]{8}/);
    assert.match(r.out, /mmu notifier: kvm_age_hva +\| exit_mmap: kvm_free_stage2_pgd/);
    assert.match(r.out, /!! dereferences \*pgd: NULL \(mmu\.c:\d+\)/);
    assert.match(r.out, /26 chains \(.*\): 3 race, 23 safe, 0 inconclusive/);
  });

  it('exits 0 on a tree without races (v4.13)', () => {
    const r = lockpath([join(fixturesDir, 'history', 'v4.13')]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /0 findings/);
  });

  it('--json follows the documented shape', () => {
    const r = lockpath(['--json', exampleDir]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out);
    assert.equal(j.lockpath.shape, 2);
    assert.equal(j.model.id, 'kvm-arm-v4');
    assert.ok(
      j.model.assumptions.some((a: { id: string; enabled: boolean }) => a.id === 'vcpu-thread-pins-mm' && a.enabled),
    );
    assert.equal(j.findings.length, 3);
    const f = j.findings[0];
    for (const k of ['id', 'class', 'severity', 'file', 'line', 'function', 'entry', 'context', 'chain', 'witness'])
      assert.ok(k in f, k);
    assert.ok(f.line > 0 && f.chain.every((h: { line: number }) => h.line > 0), 'lines are 1-based');
    assert.deepEqual(Object.keys(f.witness[0]).sort(), [
      'action',
      'column',
      'file',
      'function',
      'lane',
      'line',
      'locks',
      'thread',
    ]);
    const c = j.chains.find((x: { hook: string }) => x.hook === 'kvm_set_spte_hva');
    assert.equal(c.verdict, 'safe');
    assert.equal(c.context, 'mmu-notifier');
    assert.match(c.reason, /guarded/);
    assert.deepEqual(c.path.slice(0, 2), ['kvm_mmu_notifier_change_pte', 'kvm_set_spte_hva']);
    assert.equal(j.summary.chainsPerContext['mmu-notifier'], 6);
  });

  it("--assume vcpu-thread-pins-mm=off asks the thread's question", () => {
    const r = lockpath(['--json', '--assume', 'vcpu-thread-pins-mm=off', exampleDir]);
    const j = JSON.parse(r.out);
    assert.ok(
      j.findings.some(
        (f: { chain: { function: string }[]; context: string }) =>
          f.context === 'vcpu' && f.chain.some((h) => h.function === 'user_mem_abort'),
      ),
    );
  });

  it('uses a .lockpath.json at the folder root', () => {
    const dir = scratchDir('lockpath-model-');
    writeFileSync(join(dir, 'mmu.c'), readFileSync(join(exampleDir, 'virt/kvm/arm/mmu.c')));
    writeFileSync(
      join(dir, '.lockpath.json'),
      '{\n  // the thread\'s question\n  "assumptions": { "vcpu-thread-pins-mm": false }\n}\n',
    );
    const j = JSON.parse(lockpath(['--json', dir]).out);
    assert.ok(
      j.model.assumptions.some((a: { id: string; enabled: boolean }) => a.id === 'vcpu-thread-pins-mm' && !a.enabled),
    );
    assert.match(j.model.reason, /model file/);
  });
});

describe('lockpath chains and explain', () => {
  it('chains prints the table per walker and exits 0', () => {
    const r = lockpath(['chains', exampleDir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^stage2_get_pud \(virt\/kvm\/arm\/mmu\.c:\d+\): 9 chains$/m);
    assert.match(r.out, /CONTEXT +ENTRY \(VIA\) +LOCKS +GUARDS +VERDICT +PATH/);
    assert.match(
      r.out,
      /mmu notifier +kvm_age_hva \(kvm_mmu_notifier_ops\.clear_young\) +mmu_lock +- +race +kvm_mmu_notifier_clear_young > kvm_age_hva > handle_hva_to_gpa > kvm_age_hva_handler > stage2_get_pmd > stage2_get_pud/,
    );
    assert.match(
      r.out,
      /mmu notifier +kvm_set_spte_hva \(kvm_mmu_notifier_ops\.change_pte\) +mmu_lock +kvm_set_spte_hva +safe/,
    );
  });

  it('chains --json has the chains part of the shape only', () => {
    const j = JSON.parse(lockpath(['chains', '--json', exampleDir]).out);
    assert.equal(j.chains.length, 26);
    assert.equal(j.findings, undefined);
  });

  it('explain lists every chain through a function with verdicts and reasons', () => {
    const r = lockpath(['explain', 'stage2_get_pmd', exampleDir]);
    assert.equal(r.code, 0);
    assert.match(r.out, /9 chains pass through it/);
    assert.match(r.out, /\[race\] mmu notifier via kvm_mmu_notifier_ops\.test_young/);
    assert.match(r.out, /reason: pinned: exit_mmap cannot start \(vcpu-thread-pins-mm\)/);
    assert.equal(lockpath(['explain', 'no_such_function', exampleDir]).code, 2);
  });
});

describe('bad input', () => {
  it('a missing path, a folder without C, an unreadable model file and bad flags exit 2 with a clear message', () => {
    const missing = lockpath(['/nonexistent/linux']);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no such file or directory: \/nonexistent\/linux/);
    const empty = scratchDir('lockpath-empty-');
    writeFileSync(join(empty, 'README'), 'no C here');
    const noC = lockpath([empty]);
    assert.equal(noC.code, 2);
    assert.match(noC.err, /no C files \(\*\.c, \*\.h\) under/);
    writeFileSync(join(empty, 'a.c'), 'int a(void) { return 0; }\n');
    writeFileSync(join(empty, '.lockpath.json'), '{ "assumptions": { "vcpu-thread-pins-mm": "no" } }');
    const bad = lockpath([empty]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.err,
      /\.lockpath\.json:1:\d+: lockpath model file: \/assumptions\/vcpu-thread-pins-mm must be boolean/,
    );
    assert.equal(lockpath(['--frobnicate']).code, 2);
    assert.match(lockpath(['--assume', 'nonsense=off', exampleDir]).err, /unknown assumption nonsense/);
  });

  it('broken C, binary files and links out of the folder are handled, not fatal', () => {
    const dir = scratchDir('lockpath-bad-');
    writeFileSync(join(dir, 'broken.c'), 'int kvm_age_hva(struct kvm *kvm)\n{\n\treturn *kvm->arch.pgd\n');
    writeFileSync(
      join(dir, 'free.c'),
      'void kvm_free_stage2_pgd(struct kvm *kvm)\n{\n\tvoid *pgd = NULL;\n\tspin_lock(&kvm->mmu_lock);\n\tif (kvm->arch.pgd) {\n\t\tpgd = READ_ONCE(kvm->arch.pgd);\n\t\tkvm->arch.pgd = NULL;\n\t}\n\tspin_unlock(&kvm->mmu_lock);\n\tif (pgd)\n\t\tfree_pages_exact(pgd, S2_PGD_SIZE);\n}\nvoid kvm_arch_flush_shadow_all(struct kvm *kvm)\n{\n\tkvm_free_stage2_pgd(kvm);\n}\n',
    );
    writeFileSync(join(dir, 'blob.c'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
    mkdirSync(join(dir, 'sub'));
    symlinkSync('/etc', join(dir, 'sub', 'escape'));
    const r = lockpath(['--json', dir]);
    assert.ok(r.code === 0 || r.code === 1, r.err);
    const j = JSON.parse(r.out);
    assert.ok(
      j.problems.some((p: { message: string; file: string }) => p.file === 'blob.c' && /binary/.test(p.message)),
    );
    assert.ok(j.problems.some((p: { message: string }) => /link leads outside the folder/.test(p.message)));
    assert.ok(
      j.findings.some((f: { function: string }) => f.function === 'kvm_age_hva'),
      'the half-typed hook at the end of the file is still analysed',
    );
  });
});

describe('generated files', () => {
  it('are skipped with a note in the text report, and the findings stay as they were', () => {
    const dir = scratchDir('lockpath-generated-');
    cpSync(exampleDir, dir, { recursive: true });
    const hook = 'int kvm_generated_hook(struct kvm *kvm)\n{\n\treturn stage2_pgd_none(*kvm->arch.pgd);\n}\n';
    mkdirSync(join(dir, 'include', 'generated'), { recursive: true });
    writeFileSync(join(dir, 'include', 'generated', 'asm-offsets.h'), hook);
    writeFileSync(
      join(dir, 'virt', 'kvm', 'arm', 'tables.c'),
      `/*\n * Automatically generated file; DO NOT EDIT.\n */\n${hook}`,
    );
    const plain = lockpath([exampleDir]);
    // The copy is a kernel tree by its layout: read all of it, include/generated/ too.
    const r = lockpath([dir, '--include', '**']);
    assert.equal(r.code, 1, r.err);
    assert.equal(r.err, '');
    assert.match(
      r.out,
      /^include\/generated\/asm-offsets\.h:1:1: note: lockpath: skipped: generated file \(under include\/generated\/\)$/m,
    );
    assert.match(
      r.out,
      /^virt\/kvm\/arm\/tables\.c:1:1: note: lockpath: skipped: generated file \(its leading comment says "Automatically generated"\)$/m,
    );
    const hidden = (out: string): string | undefined =>
      /\((\d+) parse notes? about unparsed macro regions hidden/.exec(out)?.[1];
    assert.equal(hidden(r.out), hidden(plain.out), 'skip notes are not counted as hidden parse notes');
    const findings = (out: string): string[] =>
      out
        .split('\n')
        .filter((l) => / LP[0-9A-F]{8}$/.test(l))
        .sort();
    assert.deepEqual(findings(r.out), findings(plain.out));
    assert.ok(findings(r.out).length > 0);
    assert.match(r.out, /26 chains \(.*\): 3 race, 23 safe, 0 inconclusive/);
  });
});

describe('no free path', () => {
  it('says inconclusive, not safe, when the indexed code never frees the root', () => {
    const dir = scratchDir('lockpath-nofree-');
    writeFileSync(
      join(dir, 'mmu.c'),
      'int kvm_age_hva(struct kvm *kvm)\n{\n\treturn stage2_pgd_none(*kvm->arch.pgd);\n}\n',
    );
    const j = JSON.parse(lockpath(['--json', dir]).out);
    assert.equal(j.chains.length, 2);
    assert.ok(
      j.chains.every(
        (c: { verdict: string; reason: string }) =>
          c.verdict === 'inconclusive' && /no teardown path in the indexed code frees kvm->arch.pgd/.test(c.reason),
      ),
    );
  });
});

describe('SARIF', () => {
  const tool = join(repoRoot, 'node_modules', '@microsoft', 'sarif-multitool-linux');
  it('validates against the SARIF 2.1.0 schema and the multitool, with a threadFlow per thread', () => {
    const dir = scratchDir('lockpath-sarif-');
    const out = join(dir, 'lockpath.sarif');
    const r = lockpath([`--sarif=${out}`, exampleDir]);
    assert.equal(r.code, 1, r.err);
    const sarif = JSON.parse(readFileSync(out, 'utf8')) as {
      runs: {
        results: { ruleId: string; codeFlows: { threadFlows: { locations: { executionOrder: number }[] }[] }[] }[];
      }[];
    };
    assert.ok(existsSync(join(tool, 'sarif-2.1.0.json')), 'the SARIF multitool package is installed (npm ci)');
    const schema = JSON.parse(readFileSync(join(tool, 'sarif-2.1.0.json'), 'utf8'));
    const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    assert.ok(validate(structuredClone(sarif)), JSON.stringify(validate.errors?.slice(0, 5)));
    const result = sarif.runs[0].results[0];
    assert.equal(result.ruleId, 'unguarded-notifier-path');
    assert.equal(result.codeFlows[0].threadFlows.length, 2);
    assert.ok(result.codeFlows[0].threadFlows.every((t) => t.locations.every((l) => l.executionOrder > 0)));
    const report = join(dir, 'validation.sarif');
    const v = spawnSync(join(tool, 'Sarif.Multitool'), ['validate', out, '-o', report], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(v.status, 0, `${v.stdout}\n${v.stderr}`);
    const errors = JSON.parse(readFileSync(report, 'utf8')).runs[0].results.filter(
      (x: { level?: string }) => x.level === 'error',
    );
    assert.deepEqual(
      errors.map((e: { message: { text?: string; id?: string } }) => e.message.text ?? e.message.id),
      [],
    );
  });
});

describe('the index cache', () => {
  it('a second run over the same tree reads the facts and the explorations from the cache and says the same', () => {
    const cache = scratchDir('lockpath-cache-');
    const run = () =>
      spawnSync(process.execPath, [bin, '--json', exampleDir], {
        encoding: 'utf8',
        env: { ...process.env, LOCKPATH_CACHE: cache },
        timeout: 120_000,
      });
    const cold = run();
    const [build] = readdirSync(cache);
    const facts = readdirSync(join(cache, build)).filter((f) => f.endsWith('.json'));
    assert.equal(facts.length, 6, 'one entry per file of the example');
    const explorations = readdirSync(join(cache, build, 'explore')).map((f) => join(cache, build, 'explore', f));
    assert.ok(explorations.length > 0, 'explorations are kept too');
    const warm = run();
    const strip = (s: string) => JSON.stringify({ ...JSON.parse(s), summary: undefined });
    assert.equal(strip(warm.stdout), strip(cold.stdout));
    assert.equal(JSON.parse(warm.stdout).summary.statesExplored, JSON.parse(cold.stdout).summary.statesExplored);
    // The text says where the searches came from.
    const text = spawnSync(process.execPath, [bin, exampleDir], {
      encoding: 'utf8',
      env: { ...process.env, LOCKPATH_CACHE: cache },
      timeout: 120_000,
    });
    // (Fewer than all: hooks whose programs differ only in names share one search within the run.)
    const states = JSON.parse(cold.stdout).summary.statesExplored as number;
    assert.match(
      text.stdout,
      new RegExp(`${states} states explored \\([1-9]\\d* of \\d+ searches read from the cache\\)`),
    );
    // The warm run read the explorations: with every kept one saying it took a single state, the summary says so.
    const said = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as { key: string; value: { states: number } };
    for (const f of explorations)
      writeFileSync(f, JSON.stringify({ ...said(f), value: { ...said(f).value, states: 1 } }));
    const tampered = run();
    assert.ok(
      JSON.parse(tampered.stdout).summary.statesExplored < JSON.parse(cold.stdout).summary.statesExplored,
      'the explorations came from the cache',
    );
    // Entries that are not JSON, or not explorations, are misses: the search runs again and the answer is whole.
    explorations.forEach((f, i) =>
      writeFileSync(
        f,
        i % 2 ? '{"key": "x", "value": [1, 2' : JSON.stringify({ ...said(f), value: { hazards: 'none' } }),
      ),
    );
    const mended = run();
    assert.equal(mended.status, 1, mended.stderr);
    assert.equal(strip(mended.stdout), strip(cold.stdout));
    assert.equal(JSON.parse(mended.stdout).summary.statesExplored, JSON.parse(cold.stdout).summary.statesExplored);
    const off = spawnSync(process.execPath, [bin, '--no-cache', '--json', exampleDir], {
      encoding: 'utf8',
      env: { ...process.env, LOCKPATH_CACHE: join(cache, 'unused') },
      timeout: 120_000,
    });
    assert.equal(strip(off.stdout), strip(cold.stdout));
    assert.ok(!existsSync(join(cache, 'unused')), '--no-cache writes nothing');
    const uncached = spawnSync(process.execPath, [bin, '--no-cache', exampleDir], {
      encoding: 'utf8',
      env: { ...process.env, LOCKPATH_CACHE: join(cache, 'unused') },
      timeout: 120_000,
    });
    assert.match(uncached.stdout, new RegExp(`${states} states explored in \\d+ ms`));
  });

  it('a run that writes its build folder removes all but the most recently written few of the other builds', () => {
    const cache = scratchDir('lockpath-cache-');
    // Six older builds' folders, written a day apart (index-old-0 the newest), and something that is not a build.
    for (let i = 0; i < 6; i++) {
      const dir = join(cache, `index-old-${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'x.json'), '{}');
      writeFileSync(join(dir, CACHE_MARKER), 'lockpath cache folder\n');
      const when = new Date(Date.now() - (i + 1) * 86_400_000);
      utimesSync(dir, when, when);
    }
    mkdirSync(join(cache, 'editors'));
    const r = spawnSync(process.execPath, [bin, '--json', exampleDir], {
      encoding: 'utf8',
      env: { ...process.env, LOCKPATH_CACHE: cache },
      timeout: 120_000,
    });
    assert.equal(r.status, 1, r.stderr);
    const left = readdirSync(cache).sort();
    const current = left.filter((d) => d.startsWith('index-') && !d.startsWith('index-old-'));
    assert.equal(current.length, 1, `this build's folder: ${left}`);
    assert.deepEqual(
      left.filter((d) => d.startsWith('index-old-')),
      ['index-old-0', 'index-old-1', 'index-old-2'].slice(0, KEPT_OTHER_BUILDS),
    );
    assert.ok(left.includes('editors'), 'only index-* folders are touched');
  });
});
