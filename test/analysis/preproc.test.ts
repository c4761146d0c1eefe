// Preprocessor and configuration semantics: #if/#ifdef/IS_ENABLED lowered to config conditions, symbols fixed by
// the model (its "config", a kernel .config given with --config) or by the tree's headers folded when indexing,
// one choice per symbol along a chain, and the command's --config flag.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Cond, Stmt } from '../../server/src/analysis/index/facts';
import { headerDefines, parseKernelConfig, treeDefines } from '../../server/src/analysis/index/config';
import { loadModelFile } from '../../server/src/analysis/model/loader';
import { analyzeTexts, fixturesDir, repoRoot, scratchDir } from '../helpers';

const ifs = (stmts: readonly Stmt[]): { text: string; cond: Cond }[] =>
  stmts.flatMap((s) =>
    s.k === 'if'
      ? [{ text: s.text, cond: s.cond }, ...ifs(s.then), ...ifs(s.else)]
      : s.k === 'loop' || s.k === 'switch'
        ? ifs(s.body)
        : [],
  );
const calls = (stmts: readonly Stmt[]): string[] =>
  stmts.flatMap((s) =>
    s.k === 'call' && s.callee.kind === 'direct'
      ? [s.callee.name]
      : s.k === 'if'
        ? [...calls(s.then), ...calls(s.else)]
        : s.k === 'loop' || s.k === 'switch'
          ? calls(s.body)
          : [],
  );

const body = [
  'void kvm_destroy_vm(struct kvm *kvm)',
  '{',
  '#if defined(CONFIG_EXAMPLE_NOTIFIER) && !defined(KVM_NO_NOTIFIER)',
  '\tmmu_notifier_unregister(&kvm->mmu_notifier, kvm->mm);',
  '#else',
  '\tkvm_flush_shadow_all(kvm);',
  '#endif',
  '#ifndef CONFIG_KVM_ARM_PMU',
  '\tkvm_pmu_off(kvm);',
  '#endif',
  '#if 0',
  '\tnever_called(kvm);',
  '#endif',
  '\tif (IS_ENABLED(CONFIG_KVM_SMC) && kvm->arch.smc)',
  '\t\tkvm_smc_cleanup(kvm);',
  '}',
  '',
].join('\n');

describe('config conditions', () => {
  it('lowers #if, #ifndef, #if 0 and IS_ENABLED to conditions over config symbols', async () => {
    const a = await analyzeTexts({ 'kvm_main.c': body });
    const fn = a.graph.lookup('kvm_destroy_vm')!;
    const c = (symbol: string): Cond => ({ k: 'config', symbol });
    assert.deepEqual(
      ifs(fn.body).map((x) => x.cond),
      [
        { k: 'and', a: c('CONFIG_EXAMPLE_NOTIFIER'), b: { k: 'not', c: c('KVM_NO_NOTIFIER') } },
        { k: 'not', c: c('CONFIG_KVM_ARM_PMU') },
        {
          k: 'and',
          a: { k: 'or', a: c('CONFIG_KVM_SMC'), b: c('CONFIG_KVM_SMC_MODULE') },
          b: { k: 'flag', name: 'kvm.arch.smc' },
        },
      ],
    );
    assert.ok(!calls(fn.body).includes('never_called'), '#if 0 is never compiled in');
  });

  it('folds the symbols the model fixes when indexing, and those the headers define', async () => {
    const header = '#ifndef __KVM_HOST_H\n#define __KVM_HOST_H\n#define KVM_NO_NOTIFIER\n#endif\n';
    const a = await analyzeTexts(
      { 'kvm_main.c': body, 'include/linux/kvm_host.h': header },
      {
        overlay: {
          file: { config: { CONFIG_EXAMPLE_NOTIFIER: true, CONFIG_KVM_ARM_PMU: false, CONFIG_KVM_SMC: true } },
          source: 'test',
        },
      },
    );
    const fn = a.graph.lookup('kvm_destroy_vm')!;
    // !defined(KVM_NO_NOTIFIER) is false: the #else branch only; no PMU: kvm_pmu_off; IS_ENABLED(CONFIG_KVM_SMC) true.
    assert.deepEqual(ifs(fn.body), [
      { text: 'IS_ENABLED(CONFIG_KVM_SMC) && kvm->arch.smc', cond: { k: 'flag', name: 'kvm.arch.smc' } },
    ]);
    assert.deepEqual(
      calls(fn.body).filter((n) => !['IS_ENABLED'].includes(n)),
      ['kvm_flush_shadow_all', 'kvm_pmu_off', 'kvm_smc_cleanup'],
    );
  });

  it('a kernel .config is complete: a CONFIG_ symbol it does not set is off; =m sets X_MODULE', async () => {
    const parsed = parseKernelConfig(
      'CONFIG_KVM=y\nCONFIG_KVM_SMC=m\n# CONFIG_KVM_ARM_PMU is not set\nCONFIG_NR_CPUS=256\n\n# comment\n',
    );
    assert.deepEqual(parsed, {
      symbols: {
        CONFIG_KVM: true,
        CONFIG_KVM_SMC: false,
        CONFIG_KVM_SMC_MODULE: true,
        CONFIG_KVM_ARM_PMU: false,
        CONFIG_NR_CPUS: true,
      },
    });
    assert.deepEqual(parseKernelConfig('CONFIG_KVM=y\nKVM=y\n'), {
      error: 'not a kernel .config line (expected CONFIG_NAME=value or "# CONFIG_NAME is not set"): KVM=y',
      line: 1,
    });
    const a = await analyzeTexts(
      { 'kvm_main.c': body },
      {
        overlay: {
          file: { kernelConfig: { source: '.config', symbols: 'symbols' in parsed ? parsed.symbols : {} } },
          source: 'test',
        },
      },
    );
    const fn = a.graph.lookup('kvm_destroy_vm')!;
    // CONFIG_EXAMPLE_NOTIFIER is not set: the #else branch; IS_ENABLED(CONFIG_KVM_SMC) is true through the module.
    assert.deepEqual(
      calls(fn.body).filter((n) => n !== 'IS_ENABLED'),
      ['kvm_flush_shadow_all', 'kvm_pmu_off', 'kvm_smc_cleanup'],
    );
  });

  it('reads the unconditional defines of a header, and of the architectures only those they all define', () => {
    const h = [
      '/* comment */',
      '#ifndef __ARM64_KVM_HOST_H__',
      '#define __ARM64_KVM_HOST_H__',
      '#define KVM_ARCH_WANT_MMU_NOTIFIER',
      '#define KVM_HAVE_MMU_RWLOCK \\',
      '\t1',
      '#ifdef CONFIG_X',
      '#define ONLY_WITH_X',
      '#else',
      '#define ONLY_WITHOUT_X',
      '#endif',
      '#define GONE',
      '#undef GONE',
      '#endif',
    ].join('\n');
    assert.deepEqual(headerDefines(h), ['KVM_ARCH_WANT_MMU_NOTIFIER', 'KVM_HAVE_MMU_RWLOCK', '__ARM64_KVM_HOST_H__']);
    assert.deepEqual(headerDefines('#ifdef CONFIG_Y\n#define A\n#endif\n#define B\n'), ['B']);
    const defs: Record<string, string[]> = {
      'arch/arm64/include/asm/kvm_host.h': ['A', 'B'],
      'arch/riscv/include/asm/kvm_host.h': ['B'],
      'include/linux/kvm_host.h': ['C'],
    };
    const paths = [...Object.keys(defs), 'arch/arm64/kvm/mmu.c', 'arch/riscv/kvm/mmu.c'];
    assert.deepEqual(
      treeDefines(paths, (p) => defs[p] ?? []),
      ['B', 'C'],
    );
    // An architecture with sources but no headers in the tree agrees on nothing.
    assert.deepEqual(
      treeDefines([...paths, 'arch/loongarch/kvm/mmu.c'], (p) => defs[p] ?? []),
      ['C'],
    );
  });
});

describe('the model file\'s "config"', () => {
  it('fixes symbols, and a value that is not true or false is an error at its place', () => {
    const good = loadModelFile(
      '.lockpath.json',
      '{ "base": "kvm-arm64-pgt", "config": { "CONFIG_EXAMPLE_NOTIFIER": true, "KVM_NO_NOTIFIER": false } }',
    );
    assert.deepEqual(good.problems, []);
    // On top of the base model's own (every KVM architecture selects the mmu notifier).
    assert.deepEqual(good.model?.config, {
      CONFIG_MMU_NOTIFIER: true,
      CONFIG_KVM_GENERIC_MMU_NOTIFIER: true,
      CONFIG_EXAMPLE_NOTIFIER: true,
      KVM_NO_NOTIFIER: false,
    });
    const bad = loadModelFile('.lockpath.json', '{\n  "config": { "CONFIG_EXAMPLE_NOTIFIER": "y" }\n}');
    assert.equal(bad.model, undefined);
    assert.equal(bad.problems.length, 1);
    assert.equal(bad.problems[0].severity, 'error');
    assert.deepEqual([bad.problems[0].at.line, bad.problems[0].at.column], [1, 41]);
    assert.match(bad.problems[0].message, /config\/CONFIG_EXAMPLE_NOTIFIER must be boolean/);
  });
});

describe('one choice per config symbol along a chain', () => {
  const files = {
    'mmu.c': [
      'void kvm_free_stage2_pgd(struct kvm *kvm) { write_lock(&kvm->mmu_lock); kvm->arch.mmu.pgt = NULL; write_unlock(&kvm->mmu_lock); }',
      'void kvm_arch_flush_shadow_all(struct kvm *kvm) { kvm_free_stage2_pgd(kvm); }',
      'static void stage2_walk(struct kvm *kvm)',
      '{',
      '#ifndef CONFIG_KVM_STAGE2_FAST',
      '\tkvm_slow_walk(kvm);',
      '#endif',
      '\tkvm_fast_walk(kvm);',
      '}',
      'void kvm_slow_walk(struct kvm *kvm) { kvm_pgtable_walk(kvm->arch.mmu.pgt); }',
      'void kvm_fast_walk(struct kvm *kvm) { kvm_pgtable_walk(kvm->arch.mmu.pgt); }',
      'bool kvm_age_gfn(struct kvm *kvm, struct kvm_gfn_range *range)',
      '{',
      '#ifdef CONFIG_KVM_STAGE2_FAST',
      '\tstage2_walk(kvm);',
      '#endif',
      '\treturn false;',
      '}',
      '',
    ].join('\n'),
  };

  it('a call under #ifdef X does not lead to one under #ifndef X; the chain says what it assumed', async () => {
    const a = await analyzeTexts(files);
    const aging = a.chains
      .filter(({ chain }) => chain.path[0] === 'kvm_age_gfn')
      .map(({ chain }) => `${chain.path.join(' > ')} ${JSON.stringify(chain.config)}`);
    assert.deepEqual(
      [...new Set(aging)],
      ['kvm_age_gfn > stage2_walk > kvm_fast_walk {"CONFIG_KVM_STAGE2_FAST":true}'],
    );
  });

  it('a symbol the model fixes off removes the calls under it from the graph', async () => {
    const a = await analyzeTexts(files, {
      overlay: { file: { config: { CONFIG_KVM_STAGE2_FAST: false } }, source: 'test' },
    });
    assert.deepEqual(
      a.chains.filter(({ chain }) => chain.path[0] === 'kvm_age_gfn'),
      [],
    );
    assert.deepEqual(a.graph.callersOf('stage2_walk'), []);
  });
});

describe('lockpath --config', () => {
  const bin = join(repoRoot, 'bin', 'lockpath.js');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

  it('a kernel .config decides #if branches: the preproc race twin is safe with the notifier configured', () => {
    const dir = scratchDir('lockpath-config-');
    const config = join(dir, '.config');
    const race = join(fixturesDir, 'resolve', 'preproc', 'race');
    // Every CONFIG_ symbol the file does not set is off: without CONFIG_EXAMPLE_NOTIFIER, the unlocked #else free.
    writeFileSync(config, '# CONFIG_EXAMPLE_NOTIFIER is not set\n');
    const off = run('check', race, '--no-cache', '--no-model-file', '--config', config);
    assert.equal(off.status, 1, off.stderr);
    assert.match(off.stdout, /kvm_arch_free_stage2_unlocked/);
    const safe = join(fixturesDir, 'resolve', 'preproc', 'safe');
    writeFileSync(config, 'CONFIG_KVM=y\nCONFIG_EXAMPLE_NOTIFIER=y\n');
    const on = run('check', safe, '--no-cache', '--config', config);
    assert.equal(on.status, 0, on.stdout + on.stderr);
    assert.match(on.stdout, /0 findings/);
  });

  it('says which line of a bad .config it cannot read, with exit status 2', () => {
    const dir = scratchDir('lockpath-config-');
    const config = join(dir, 'bad.config');
    writeFileSync(config, 'CONFIG_KVM=y\nthis is not a config line\n');
    const r = run('check', join(fixturesDir, 'resolve', 'preproc', 'safe'), '--no-cache', '--config', config);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.config:2: not a kernel \.config line/);
    const missing = run(
      'check',
      join(fixturesDir, 'resolve', 'preproc', 'safe'),
      '--no-cache',
      '--config',
      join(dir, 'nope'),
    );
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read the kernel config .*nope/);
  });
});
