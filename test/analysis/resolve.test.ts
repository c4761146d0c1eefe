// Call resolution by type, dispatch macros and preprocessor conditions, on our own reductions under
// test/fixtures/resolve: each folder's safe/ and race/ twins give exactly the findings and chains of their
// expected.json.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { entryName } from '../../server/src/analysis/findings/findings';
import { analyzeDir, analyzeTexts, chainLines, fixturesDir } from '../helpers';

interface Expected {
  /** The model file's "config" for this twin. */
  config?: Record<string, boolean>;
  findings: { class: string; entry: string; function: string }[];
  chains: string[];
}

const root = join(fixturesDir, 'resolve');

describe('resolution fixtures (safe and race twins)', () => {
  for (const folder of readdirSync(root).filter((n) => existsSync(join(root, n, 'safe')))) {
    for (const twin of ['safe', 'race']) {
      it(`${folder}/${twin} gives the findings and chains of its expected.json`, async () => {
        const dir = join(root, folder, twin);
        const want = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
        const a = await analyzeDir(
          dir,
          want.config ? { overlay: { file: { config: want.config }, source: 'expected.json' } } : {},
        );
        const rows = [
          ...new Set(a.findings.map((f) => `${f.class} | ${entryName(a.model, f.chain)} | ${f.function}`)),
        ].sort();
        assert.deepEqual(rows, want.findings.map((f) => `${f.class} | ${f.entry} | ${f.function}`).sort());
        assert.deepEqual(chainLines(a).sort(), [...want.chains].sort());
        assert.equal(twin === 'race', want.findings.length > 0, 'a race twin races, a safe twin does not');
      });
    }
  }
});

describe('calls through struct fields', () => {
  const files = (): Record<string, string> => {
    const dir = join(root, 'field-type', 'safe');
    return Object.fromEntries(
      readdirSync(dir)
        .filter((f) => f.endsWith('.c'))
        .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
    );
  };

  it('records the struct type of local initializers and of assignments', async () => {
    const a = await analyzeTexts(files());
    const fn = (name: string) => a.files.flatMap((f) => f.functions).find((f) => f.name === name)!;
    assert.deepEqual(fn('kvm_handle_range').fieldInits, [
      { field: 'handler', value: 'handler', structType: 'kvm_mmu_notifier_range' },
    ]);
    assert.deepEqual(fn('kvm_init_stage2_walker').fieldInits, [
      { field: 'handler', value: 'stage2_age_guarded', structType: 'kvm_pgt_walker' },
    ]);
  });

  it('resolves by type when the base has one, and says "by name" when it has none', async () => {
    const f = files();
    // The base is a field of a field: its struct type is not known, so every .handler store is a candidate.
    f['kvm_main.c'] = f['kvm_main.c'].replace(
      'young = walker->handler(kvm);',
      'young = kvm->arch.walker->handler(kvm);',
    );
    const a = await analyzeTexts(f);
    const notifier = a.chains
      .filter(({ chain }) => chain.context === 'mmu-notifier')
      .map(({ chain }) => `${chain.path.at(-1)} (${chain.hops.at(-1)!.via})`);
    assert.deepEqual(notifier.sort(), [
      'stage2_age_guarded (field .handler (by name))',
      'stage2_age_unguarded (field .handler (by name))',
    ]);
    const typed = await analyzeTexts(files());
    const hop = typed.chains.find(({ chain }) => chain.context === 'mmu-notifier')!.chain.hops.at(-1)!;
    assert.equal(hop.via, 'field .handler');
  });
});

describe('function-like macros', () => {
  const macrosOf = async (text: string) => (await analyzeTexts({ 'm.c': text })).files[0].macros;

  it('reads what an expansion calls and names, token pasting and __VA_ARGS__ included', async () => {
    const [pgt, hyp, alias] = await macrosOf(
      [
        '#define KVM_PGT_FN(fn) (!is_protected_kvm_enabled() ? fn : p ## fn)',
        '#define kvm_call_hyp(f, ...) do { if (has_vhe()) { f(__VA_ARGS__); isb(); } else { kvm_call_hyp_nvhe(f, ##__VA_ARGS__); } } while (0)',
        '#define stage2_apply_range_resched(kvm, a, e, fn) stage2_apply_range(kvm, a, e, fn, true)',
        '',
      ].join('\n'),
    );
    assert.deepEqual(pgt, {
      name: 'KVM_PGT_FN',
      params: ['fn'],
      calls: [{ callee: { prefix: 'is_protected_kvm_enabled', suffix: '' }, args: [] }],
      values: [
        { prefix: '', param: 0, suffix: '' },
        { prefix: 'p', param: 0, suffix: '' },
      ],
    });
    assert.equal(hyp.variadic, true);
    assert.deepEqual(
      hyp.calls.map((c) => [c.callee, c.args]),
      [
        [{ prefix: 'has_vhe', suffix: '' }, []],
        [{ prefix: '', param: 0, suffix: '' }, [1]],
        [{ prefix: 'isb', suffix: '' }, []],
        [{ prefix: 'kvm_call_hyp_nvhe', suffix: '' }, [0, 1]],
      ],
    );
    assert.deepEqual(alias.calls, [
      { callee: { prefix: 'stage2_apply_range', suffix: '' }, args: [0, 1, 2, 3, 'true'] },
    ]);
  });

  it('a variadic macro passes the rest of its arguments on, and a macro calling a macro is followed', async () => {
    const a = await analyzeTexts({
      'm.c': [
        '#define kvm_call_hyp(f, ...) do { if (has_vhe()) f(__VA_ARGS__); } while (0)',
        '#define flush_vm(kvm) kvm_call_hyp(__kvm_flush_vm, kvm, kvm->arch.mmu.pgt)',
        'void __kvm_flush_vm(struct kvm *kvm, struct kvm_pgtable *pgt) { pgt->flags = 0; }',
        'void kvm_flush(struct kvm *kvm) { flush_vm(kvm); }',
        '',
      ].join('\n'),
    });
    const fn = a.graph.lookup('kvm_flush')!;
    const targets = fn.calls
      .flatMap((s) => a.graph.staticTargets(fn, s))
      .map((t) => `${t.fn.name} (${t.via}) ${t.args.map((x) => x.text).join(', ')}`);
    assert.deepEqual(targets, ['__kvm_flush_vm (macro kvm_call_hyp) kvm, kvm->arch.mmu.pgt']);
  });
});
