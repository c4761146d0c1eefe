// The model file (.lockpath.json): JSON with comments, checked against the shipped schema, merged onto the built-in
// model; every problem has a line and column, and a broken file never stops the analysis.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadModelFile } from '../../server/src/analysis';
import { analyzeTexts } from '../helpers';

describe('model file', () => {
  it('accepts comments and trailing commas, and switches assumptions', () => {
    const r = loadModelFile('.lockpath.json', '{\n  // what if a VCPU could run after exit_mmap?\n  "assumptions": { "vcpu-thread-pins-mm": false, },\n}\n');
    assert.deepEqual(r.problems, []);
    assert.equal(r.auto, true);
    assert.equal(r.model?.assumptions.find((a) => a.id === 'vcpu-thread-pins-mm')?.enabled, false);
    assert.equal(r.model?.assumptions.find((a) => a.id === 'vcpu-fd-pins-kvm')?.enabled, true);
  });

  it('reports malformed JSON with line and column', () => {
    const r = loadModelFile('.lockpath.json', '{\n  "assumptions": {\n    "vcpu-thread-pins-mm" false\n  }\n}\n');
    assert.equal(r.model, undefined);
    assert.ok(r.problems.length > 0);
    assert.deepEqual([r.problems[0].at.line, r.problems[0].at.column], [2, 26]);
    assert.match(r.problems[0].message, /expected ":"/);
  });

  it('reports schema violations at the offending key or value', () => {
    const r = loadModelFile('m.json', '{\n  "base": "kvm-arm-v4",\n  "lock": { "name": "mmu lock" },\n  "frobnicate": 1\n}\n');
    assert.equal(r.model, undefined);
    const messages = r.problems.map((p) => `${p.at.line}:${p.at.column} ${p.message}`);
    assert.ok(messages.some((m) => /^2:\d+ .*\/lock\/name must match pattern/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^3:2 .*unknown key "frobnicate"/.test(m)), messages.join('\n'));
  });

  it('names unknown assumptions and contexts, and still loads the rest', () => {
    const r = loadModelFile('m.json', '{\n  "assumptions": { "vcpu-pins-everything": true },\n  "hooks": [ { "function": "my_hook", "context": "irq" } ]\n}\n');
    assert.ok(r.model);
    const messages = r.problems.map((p) => `${p.at.line} ${p.severity} ${p.message}`);
    assert.ok(messages.some((m) => /^1 warning .*unknown assumption "vcpu-pins-everything" \(known: vcpu-fd-pins-kvm/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^2 warning .*unknown context "irq"/.test(m)), messages.join('\n'));
  });

  it('an empty or non-object file is a problem, not a crash', () => {
    for (const text of ['', '[]', '"x"', '\u0000\u0001', '{"hooks": [1, 2]}']) {
      const r = loadModelFile('m.json', text);
      assert.equal(r.model, undefined, text);
      assert.ok(r.problems.length > 0, text);
    }
  });

  it('hooks from the file become entries with their context and held locks', async () => {
    const { model, file } = loadModelFile('m.json', '{ "base": "kvm-arm-v4", "hooks": [ { "function": "my_notifier", "context": "mmu-notifier", "via": ["my_callback"], "locksHeld": ["mmu_lock"] } ] }');
    assert.ok(model && file);
    const a = await analyzeTexts({ 'mmu.c': 'int my_notifier(struct kvm *kvm)\n{\n\treturn stage2_pgd_none(*kvm->arch.pgd);\n}\n' }, { model });
    assert.deepEqual(a.chains.map(({ chain }) => `${chain.context} ${chain.entry.via} ${chain.locks}`), ['mmu-notifier my_callback mmu_lock']);
    assert.equal(a.model.source, 'm.json');
  });
});

describe('model file names checked against the tree', () => {
  it('reports a hook the indexed files do not define', async () => {
    const { model } = loadModelFile('.lockpath.json', '{ "base": "kvm-arm-v4", "hooks": [ { "function": "kvm_age_hav", "context": "mmu-notifier" } ] }');
    const a = await analyzeTexts({ 'mmu.c': 'int kvm_age_hva(struct kvm *kvm)\n{\n\treturn *kvm->arch.pgd;\n}\n' }, { model });
    assert.ok(a.problems.some((p) => p.file === '.lockpath.json' && /hook kvm_age_hav, which the indexed files do not define/.test(p.message)));
  });
});
