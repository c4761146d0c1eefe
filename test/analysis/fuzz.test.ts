// Hostile C: the analysis on mutated and pathological inputs must return, never throw, stay within a time budget,
// and point every finding inside the file it names. LOCKPATH_FUZZ_RUNS raises the number of cases (npm run fuzz).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadParser, type Analysis, type CParser } from '../../server/src/analysis';
import { MAX_NESTING } from '../../server/src/analysis/index/nesting';
import { cursorPort } from '../../server/src/analysis/parse/cursor';
import { flatten } from '../../server/src/analysis/parse/flat';
import { readTree } from '../../server/src/analysis/parse/memory';
import { analyzeTexts, exampleDir, fixturesDir } from '../helpers';

const runs = Number(process.env.LOCKPATH_FUZZ_RUNS ?? 25);
const BUDGET_MS = 20_000;
const example = readFileSync(join(exampleDir, 'virt/kvm/arm/mmu.c'), 'utf8');
const small = readFileSync(join(fixturesDir, 'classes', 'unguarded-notifier-path', 'before', 'mmu.c'), 'utf8');

let parser: CParser;
before(async () => {
  parser = await loadParser();
});

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * The tree read straight from wasm memory (parse/memory.ts, fixed struct offsets) must be the cursor walk's, array
 * for array, on every tree: the reader checks itself in full only on the first trees it reads.
 */
function compareWalks(text: string, what: string): void {
  let tree;
  try {
    tree = parser.parse(text);
  } catch {
    return; // a parse over its time budget: the analysis skips the file with a note
  }
  try {
    assert.ok(readTree(tree), `${what}: the memory reader refused the tree`);
    const fromMemory = flatten(tree, text);
    const viaCursor = flatten(tree, text, cursorPort);
    assert.equal(fromMemory.count, viaCursor.count, `${what}: node count`);
    for (const key of ['typeIds', 'fieldIds', 'starts', 'ends', 'after', 'flags'] as const) {
      assert.ok(
        bytesOf(fromMemory[key]).equals(bytesOf(viaCursor[key])),
        `${what}: memory and cursor walks differ in ${key}`,
      );
    }
  } finally {
    tree.delete();
  }
}

/** Analyses one file and checks what must hold for any input. */
async function check(text: string, what: string): Promise<Analysis> {
  compareWalks(text, what);
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
  [
    'self recursion through a pointer',
    'int f(struct kvm *kvm, int (*g)(struct kvm *, void *))\n{\n\treturn g(kvm, f);\n}\nint kvm_age_hva(struct kvm *kvm)\n{\n\treturn f(kvm, f);\n}\n',
  ],
];

describe('hostile C', () => {
  console.log(
    `# fuzz: ${runs} cases for each of 5 generated properties, ${regressions.length} regression seeds, 4 fixed shapes; memory and cursor walks compared on every tree`,
  );
  for (const [name, text] of regressions) {
    it(`regression: ${name}`, async () => {
      await check(text, name);
    });
  }

  it('truncated at any position', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: small.length }),
        async (n) => void (await check(small.slice(0, n), `truncated at ${n}`)),
      ),
      { numRuns: runs, seed: 11 },
    );
  });

  it('with braces deleted or inserted', async () => {
    const edit = fc.tuple(fc.nat({ max: example.length - 1 }), fc.constantFrom('{', '}', '', '(', ')', ';'));
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 6 }), async (edits) => {
        let text = example;
        for (const [at, ch] of edits)
          text =
            text[at] === '{' || text[at] === '}'
              ? text.slice(0, at) + ch + text.slice(at + 1)
              : text.slice(0, at) + ch + text.slice(at);
        await check(text, `edits ${JSON.stringify(edits)}`);
      }),
      { numRuns: runs, seed: 12 },
    );
  });

  it('with random bytes spliced in (NUL, non-UTF-8, control characters)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: small.length }),
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        async (at, bytes) => {
          const noise = Buffer.from(bytes).toString('latin1');
          await check(small.slice(0, at) + noise + small.slice(at), `bytes at ${at}`);
        },
      ),
      { numRuns: runs, seed: 13 },
    );
  });

  it('with a function nested deep (if, else if, parentheses, braces, calls, loops): left out past the bound, the rest kept', async () => {
    const baseline = (await check(small, 'baseline')).findings.map((f) => f.id).sort();
    const shapes: Record<string, (n: number) => string> = {
      if: (n) => `${'\tif (a) {\n'.repeat(n)}\t*kvm->arch.pgd;\n${'\t}\n'.repeat(n)}`,
      'else if': (n) => `\tif (a) f();\n${'\telse if (a) g(kvm);\n'.repeat(n)}`,
      parentheses: (n) => `\treturn *${'('.repeat(n)}kvm->arch.pgd${')'.repeat(n)};\n`,
      braces: (n) => `${'{'.repeat(n)}stage2_get_pud(kvm, 0, 0);${'}'.repeat(n)}\n`,
      calls: (n) => `\t${'f('.repeat(n)}kvm->arch.pgd${')'.repeat(n)};\n`,
      loops: (n) => `${'\twhile (a) {\n'.repeat(n)}\tspin_lock(&kvm->mmu_lock);\n${'\t}\n'.repeat(n)}`,
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(shapes)), fc.integer({ min: 1, max: 4000 }), async (shape, n) => {
        const what = `${n} deep ${shape}`;
        const a = await check(
          `${small}\nint deep_fn(struct kvm *kvm, int a)\n{\n${shapes[shape](n)}\treturn 0;\n}\n`,
          what,
        );
        const deep = a.problems.filter((p) => p.code === 'too-deep');
        assert.ok(deep.length <= 1, what);
        if (deep.length)
          assert.match(
            deep[0].message,
            new RegExp(
              `^lockpath: function deep_fn nests (\\d+) levels deep \\(limit ${MAX_NESTING}\\): not analysed$`,
            ),
            what,
          );
        assert.equal(!!deep.length, !a.graph.lookup('deep_fn'), `${what}: either analysed or reported`);
        assert.ok(!a.problems.some((p) => /internal error/.test(p.message)), what);
        const ids = new Set(a.findings.map((f) => f.id));
        for (const id of baseline) assert.ok(ids.has(id), `${what}: race ${id} of the file lost`);
      }),
      { numRuns: runs, seed: 14 },
    );
  });

  it('with hostile names: JavaScript property names, long and odd identifiers', async () => {
    const baseline = (await check(small, 'baseline')).findings.map((f) => `${f.class} ${f.at.line}`).sort();
    const valid = [
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'then',
      `x${'y'.repeat(10_000)}`,
      'kvm_age_hva_handler',
    ];
    const odd = ['$ret@1:2', 'stage2_\u00fcn\u00efcode', 'a\\\nb', '0bad', 'if', '`x`', '\u202etxt'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...valid, ...odd), async (name) => {
        const renamed = small.replace(/\bstage2_get_pmd\b/g, name);
        const a = await check(renamed, `stage2_get_pmd renamed ${JSON.stringify(name.slice(0, 20))}`);
        if (valid.includes(name) && name !== 'kvm_age_hva_handler')
          assert.deepEqual(a.findings.map((f) => `${f.class} ${f.at.line}`).sort(), baseline, name.slice(0, 20));
      }),
      { numRuns: Math.max(runs, valid.length + odd.length), seed: 15 },
    );
  });

  it('with CRLF and mixed line endings: findings land on the same lines', async () => {
    const lf = await check(small, 'lf');
    const crlf = await check(small.replace(/\n/g, '\r\n'), 'crlf');
    assert.deepEqual(
      crlf.findings.map((f) => [f.class, f.at.line]),
      lf.findings.map((f) => [f.class, f.at.line]),
    );
    const mixed = small
      .split('\n')
      .map((l, i) => l + (i % 2 ? '\r\n' : '\n'))
      .join('');
    assert.equal((await check(mixed, 'mixed')).findings.length, lf.findings.length);
  });

  it('pathological sizes and shapes: 50 000 lines, 200-deep nesting, a 20 000-line function, macros that hide braces', async () => {
    const many = Array.from(
      { length: 2500 },
      (_, i) =>
        `static int f${i}(struct kvm *kvm)\n{\n\tif (x${i})\n\t\treturn g${i}(kvm);\n\twalk(kvm);\n\treturn ${i};\n}\n\n`,
    ).join('');
    await check(small + many + small.replace(/kvm_/g, 'kvmx_'), '50k lines');
    const deep = `int kvm_age_hva(struct kvm *kvm)\n{\n${'\tif (a) {\n'.repeat(200)}\t*kvm->arch.pgd;\n${'\t}\n'.repeat(200)}\treturn 0;\n}\n`;
    await check(
      small.replace(
        /int kvm_age_hva\(struct kvm \*kvm, unsigned long start, unsigned long end\)\n\{[\s\S]*?\n\}\n/,
        '',
      ) + deep,
      '200 deep',
    );
    const long = `int kvm_test_age_hva(struct kvm *kvm, unsigned long hva)\n{\n${'\tstep(kvm);\n\tif (c) spin_lock(&kvm->mmu_lock); else spin_unlock(&kvm->mmu_lock);\n'.repeat(6700)}\treturn *kvm->arch.pgd;\n}\n`;
    const a = await check(small.replace(/int kvm_test_age_hva\(/, 'int old_test_age_hva(') + long, '20k-line function');
    assert.ok(
      a.chains.some((c) => c.chain.entry.fn.name === 'kvm_test_age_hva'),
      'the long hook is still analysed',
    );
    await check(
      `#define BEGIN {\n#define END }\nint kvm_age_hva(struct kvm *kvm)\nBEGIN\n\treturn *kvm->arch.pgd;\nEND\n${small}`,
      'macro braces',
    );
  });
});
