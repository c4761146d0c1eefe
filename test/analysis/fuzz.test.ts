// Hostile C: the analysis on mutated and pathological inputs must return, never throw, stay within a time budget,
// and point every finding inside the file it names. LOCKPATH_FUZZ_RUNS raises the number of cases (npm run fuzz).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Analysis } from '../../server/src/analysis';
import { analyzeTexts, exampleDir, fixturesDir } from '../helpers';

const runs = Number(process.env.LOCKPATH_FUZZ_RUNS ?? 25);
const BUDGET_MS = 20_000;
const example = readFileSync(join(exampleDir, 'virt/kvm/arm/mmu.c'), 'utf8');
const small = readFileSync(join(fixturesDir, 'classes', 'unguarded-notifier-path', 'before', 'mmu.c'), 'utf8');

/** Analyses one file and checks what must hold for any input. */
async function check(text: string, what: string): Promise<Analysis> {
  const started = performance.now();
  const a = await analyzeTexts({ 'mmu.c': text }, { maxStates: 20_000 });
  const ms = performance.now() - started;
  assert.ok(ms < BUDGET_MS, `${what}: ${Math.round(ms)} ms`);
  const lines = text.split('\n');
  for (const f of a.findings) {
    assert.equal(f.file, 'mmu.c');
    assert.ok(f.at.line >= 0 && f.at.line < lines.length, `${what}: finding at line ${f.at.line} of ${lines.length}`);
    assert.ok(f.at.column <= lines[f.at.line].length, `${what}: column ${f.at.column} beyond line ${f.at.line}`);
    for (const s of f.witness) assert.ok(s.at.line < lines.length, `${what}: witness step at line ${s.at.line}`);
  }
  for (const c of a.chains) assert.ok(['race', 'safe', 'inconclusive'].includes(c.verdict.verdict));
  return a;
}

/** Seeds of earlier failures, kept as regression cases. */
const regressions: [string, string][] = [
  ['unterminated definition at the end', 'int kvm_age_hva(struct kvm *kvm)\n{\n\treturn *kvm->arch.pgd\n'],
  ['half-typed condition', 'int half(struct kvm *kvm)\n{\n\tif (!kvm->arch.pgd\n\tstage2_get_pud(kvm, NULL, 0\n}\n'],
  ['goto to a missing label', 'void f(struct kvm *kvm)\n{\n\tspin_lock(&kvm->mmu_lock);\n\tgoto nowhere;\n}\n'],
  ['break outside a loop', 'void f(struct kvm *kvm)\n{\n\tbreak;\n\tcontinue;\n\t*kvm->arch.pgd;\n}\n'],
  ['self recursion through a pointer', 'int f(struct kvm *kvm, int (*g)(struct kvm *, void *))\n{\n\treturn g(kvm, f);\n}\nint kvm_age_hva(struct kvm *kvm)\n{\n\treturn f(kvm, f);\n}\n'],
];

describe('hostile C', () => {
  console.log(`# fuzz: ${runs} cases for each of 3 generated properties, ${regressions.length} regression seeds, 4 fixed shapes`);
  for (const [name, text] of regressions) {
    it(`regression: ${name}`, async () => {
      await check(text, name);
    });
  }

  it('truncated at any position', async () => {
    await fc.assert(fc.asyncProperty(fc.nat({ max: small.length }), async (n) => void (await check(small.slice(0, n), `truncated at ${n}`))), { numRuns: runs, seed: 11 });
  });

  it('with braces deleted or inserted', async () => {
    const edit = fc.tuple(fc.nat({ max: example.length - 1 }), fc.constantFrom('{', '}', '', '(', ')', ';'));
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 6 }), async (edits) => {
        let text = example;
        for (const [at, ch] of edits) text = text[at] === '{' || text[at] === '}' ? text.slice(0, at) + ch + text.slice(at + 1) : text.slice(0, at) + ch + text.slice(at);
        await check(text, `edits ${JSON.stringify(edits)}`);
      }),
      { numRuns: runs, seed: 12 },
    );
  });

  it('with random bytes spliced in (NUL, non-UTF-8, control characters)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: small.length }), fc.uint8Array({ minLength: 1, maxLength: 40 }), async (at, bytes) => {
        const noise = Buffer.from(bytes).toString('latin1');
        await check(small.slice(0, at) + noise + small.slice(at), `bytes at ${at}`);
      }),
      { numRuns: runs, seed: 13 },
    );
  });

  it('with CRLF and mixed line endings: findings land on the same lines', async () => {
    const lf = await check(small, 'lf');
    const crlf = await check(small.replace(/\n/g, '\r\n'), 'crlf');
    assert.deepEqual(crlf.findings.map((f) => [f.class, f.at.line]), lf.findings.map((f) => [f.class, f.at.line]));
    const mixed = small.split('\n').map((l, i) => l + (i % 2 ? '\r\n' : '\n')).join('');
    assert.equal((await check(mixed, 'mixed')).findings.length, lf.findings.length);
  });

  it('pathological sizes and shapes: 50 000 lines, 200-deep nesting, a 20 000-line function, macros that hide braces', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => `static int f${i}(struct kvm *kvm)\n{\n\tif (x${i})\n\t\treturn g${i}(kvm);\n\twalk(kvm);\n\treturn ${i};\n}\n\n`).join('');
    await check(small + many + small.replace(/kvm_/g, 'kvmx_'), '50k lines');
    const deep = `int kvm_age_hva(struct kvm *kvm)\n{\n${'\tif (a) {\n'.repeat(200)}\t*kvm->arch.pgd;\n${'\t}\n'.repeat(200)}\treturn 0;\n}\n`;
    await check(small.replace(/int kvm_age_hva\(struct kvm \*kvm, unsigned long start, unsigned long end\)\n\{[\s\S]*?\n\}\n/, '') + deep, '200 deep');
    const long = `int kvm_test_age_hva(struct kvm *kvm, unsigned long hva)\n{\n${'\tstep(kvm);\n\tif (c) spin_lock(&kvm->mmu_lock); else spin_unlock(&kvm->mmu_lock);\n'.repeat(6700)}\treturn *kvm->arch.pgd;\n}\n`;
    const a = await check(small.replace(/int kvm_test_age_hva\(/, 'int old_test_age_hva(') + long, '20k-line function');
    assert.ok(a.chains.some((c) => c.chain.entry.fn.name === 'kvm_test_age_hva'), 'the long hook is still analysed');
    await check(`#define BEGIN {\n#define END }\nint kvm_age_hva(struct kvm *kvm)\nBEGIN\n\treturn *kvm->arch.pgd;\nEND\n${small}`, 'macro braces');
  });
});
