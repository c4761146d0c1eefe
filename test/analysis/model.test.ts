// The model file (.lockpath.json): JSON with comments, checked against the shipped schema, merged onto the built-in
// model; every problem has a line and column, and a broken file never stops the analysis.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadModelFile } from '../../server/src/analysis';
import { MODEL_LIMITS } from '../../server/src/analysis/model/loader';
import { analyzeTexts } from '../helpers';

describe('model file', () => {
  it('accepts comments and trailing commas, and switches assumptions', () => {
    const r = loadModelFile(
      '.lockpath.json',
      '{\n  // what if a VCPU could run after exit_mmap?\n  "assumptions": { "vcpu-thread-pins-mm": false, },\n}\n',
    );
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
    const r = loadModelFile(
      'm.json',
      '{\n  "base": "kvm-arm-v4",\n  "lock": { "name": "mmu lock" },\n  "frobnicate": 1\n}\n',
    );
    assert.equal(r.model, undefined);
    const messages = r.problems.map((p) => `${p.at.line}:${p.at.column} ${p.message}`);
    assert.ok(
      messages.some((m) => /^2:\d+ .*\/lock\/name must match pattern/.test(m)),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => /^3:2 .*unknown key "frobnicate"/.test(m)),
      messages.join('\n'),
    );
  });

  it('names unknown assumptions and contexts, and still loads the rest', () => {
    const r = loadModelFile(
      'm.json',
      '{\n  "assumptions": { "vcpu-pins-everything": true },\n  "hooks": [ { "function": "my_hook", "context": "irq" } ]\n}\n',
    );
    assert.ok(r.model);
    const messages = r.problems.map((p) => `${p.at.line} ${p.severity} ${p.message}`);
    assert.ok(
      messages.some((m) => /^1 warning .*unknown assumption "vcpu-pins-everything" \(known: vcpu-fd-pins-kvm/.test(m)),
      messages.join('\n'),
    );
    assert.ok(
      messages.some((m) => /^2 warning .*unknown context "irq"/.test(m)),
      messages.join('\n'),
    );
  });

  it('an empty or non-object file is a problem, not a crash', () => {
    for (const text of ['', '[]', '"x"', '\u0000\u0001', '{"hooks": [1, 2]}']) {
      const r = loadModelFile('m.json', text);
      assert.equal(r.model, undefined, text);
      assert.ok(r.problems.length > 0, text);
    }
  });

  it('hooks from the file become entries with their context and held locks', async () => {
    const { model, file } = loadModelFile(
      'm.json',
      '{ "base": "kvm-arm-v4", "hooks": [ { "function": "my_notifier", "context": "mmu-notifier", "via": ["my_callback"], "locksHeld": ["mmu_lock"] } ] }',
    );
    assert.ok(model && file);
    const a = await analyzeTexts(
      { 'mmu.c': 'int my_notifier(struct kvm *kvm)\n{\n\treturn stage2_pgd_none(*kvm->arch.pgd);\n}\n' },
      { model },
    );
    assert.deepEqual(
      a.chains.map(({ chain }) => `${chain.context} ${chain.entry.via} ${chain.locks}`),
      ['mmu-notifier my_callback mmu_lock'],
    );
    assert.equal(a.model.source, 'm.json');
  });
});

describe('model file names checked against the tree', () => {
  it('reports a hook the indexed files do not define', async () => {
    const { model } = loadModelFile(
      '.lockpath.json',
      '{ "base": "kvm-arm-v4", "hooks": [ { "function": "kvm_age_hav", "context": "mmu-notifier" } ] }',
    );
    const a = await analyzeTexts(
      { 'mmu.c': 'int kvm_age_hva(struct kvm *kvm)\n{\n\treturn *kvm->arch.pgd;\n}\n' },
      { model },
    );
    assert.ok(
      a.problems.some(
        (p) => p.file === '.lockpath.json' && /hook kvm_age_hav, which the indexed files do not define/.test(p.message),
      ),
    );
  });
});

/** Hook entries, one a line after `{ "hooks": [` on line 0. */
const manyHooks = (n: number): string =>
  `{ "hooks": [\n${Array.from({ length: n }, (_, i) => `  { "function": "hook_${i}", "context": "vm-ioctl" }`).join(',\n')}\n] }\n`;

describe('model file limits', () => {
  const only = (text: string): [number, number, string, string | undefined, string] => {
    const started = process.cpuUsage();
    const r = loadModelFile('m.json', text);
    const cpu = process.cpuUsage(started);
    assert.ok((cpu.user + cpu.system) / 1000 < 2000, `took ${(cpu.user + cpu.system) / 1000} ms`);
    assert.equal(r.model, undefined);
    assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
    const p = r.problems[0];
    return [p.at.line, p.at.column, p.severity, p.code, p.message];
  };

  it('nesting 20 000 and 100 000 deep: one error at the first bracket past 32 levels, no stack overflow', () => {
    assert.equal(MODEL_LIMITS.depth, 32);
    for (const n of [20_000, 100_000]) {
      // The object is level 1; the 32nd "[" (at column 10 + 31) is level 33.
      assert.deepEqual(only(`{"hooks": ${'['.repeat(n)}${']'.repeat(n)}}`), [
        0,
        41,
        'error',
        'model-limit',
        'lockpath model file: nested more than 32 levels deep (limit 32)',
      ]);
    }
    // Inside strings and comments brackets do not count; 32 levels are allowed.
    const ok = loadModelFile(
      'm.json',
      `{"index": {"include": ["[[[[{{{{"]}}, /* ${'['.repeat(100)} */ "assumptions": ${'{"a":'.repeat(30)}{}${'}'.repeat(30)}}`,
    );
    assert.ok(!ok.problems.some((p) => p.code === 'model-limit'), JSON.stringify(ok.problems));
  });

  it('200 000 hooks: refused for its size at once, not merged for minutes', () => {
    const text = manyHooks(200_000);
    const offset = MODEL_LIMITS.characters;
    const line = text.slice(0, offset).split('\n').length - 1;
    const column = offset - (text.lastIndexOf('\n', offset - 1) + 1);
    assert.deepEqual([line, column], [19_267, 43], 'where the limit falls in this text');
    assert.deepEqual(only(text), [
      19_267,
      43,
      'error',
      'model-limit',
      `lockpath model file: ${text.length} characters is over the limit of 1048576`,
    ]);
  });

  it('1 001 hooks: one error at the 1 001st; 1 000 (with a trailing comma) load', () => {
    assert.deepEqual(only(manyHooks(1001)), [
      1001,
      2,
      'error',
      'model-limit',
      'lockpath model file: "hooks" has more than 1000 entries (limit 1000)',
    ]);
    const ok = loadModelFile('m.json', manyHooks(1000).replace('\n] }', ',\n] }'));
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.file?.hooks?.length, 1000);
  });
});
