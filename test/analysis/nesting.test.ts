// Failure stays local: a function nested deeper than the bound (index/nesting.ts) is reported at its name and left
// out; the rest of its file (other functions, their races) is analysed as if it were not there. Deep inputs of
// every shape are read without overflowing the stack, and a function at the bound is still analysed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadParser, type Analysis, type CParser } from '../../server/src/analysis';
import type { FileFacts } from '../../server/src/analysis/index/facts';
import { indexTree } from '../../server/src/analysis/index/indexer';
import { MAX_NESTING } from '../../server/src/analysis/index/nesting';
import { kvmArmV4 } from '../../server/src/analysis/model/builtin';
import { flatten } from '../../server/src/analysis/parse/flat';
import { analyzeTexts, exampleDir } from '../helpers';

const mmu = readFileSync(join(exampleDir, 'virt/kvm/arm/mmu.c'), 'utf8');
const mmuLines = mmu.split('\n').length - 1;

let parser: CParser;
before(async () => {
  parser = await loadParser();
});

function index(text: string): FileFacts {
  const tree = parser.parse(text);
  try {
    return indexTree('t.c', tree, kvmArmV4, (piece) => parser.parse(piece), text);
  } finally {
    tree.delete();
  }
}

const deepIfs = (n: number): string =>
  `void deep_ifs(struct kvm *kvm, int a)\n{\n${'if (a) {\n'.repeat(n)}\t*kvm->arch.pgd;\n${'}\n'.repeat(n)}}\n`;
const deepParens = (n: number): string =>
  `int deep_parens(struct kvm *kvm)\n{\n\treturn *${'('.repeat(n)}kvm->arch.pgd${')'.repeat(n)};\n}\n`;
const deepBraces = (n: number): string =>
  `void deep_braces(struct kvm *kvm)\n{\n${'{'.repeat(n)}stage2_get_pud(kvm, 0);${'}'.repeat(n)}\n}\n`;
/** A function after the deep one: it must still be indexed. */
const AFTER = 'int after_deep(struct kvm *kvm)\n{\n\tspin_lock(&kvm->mmu_lock);\n\treturn 0;\n}\n';

const ids = (a: Analysis): string[] => a.findings.map((f) => `${f.id} ${f.class} ${f.at.line}`).sort();

describe('nesting bound', () => {
  it("800 nested ifs appended to mmu.c: one problem at the function's name, every other function and race kept", async () => {
    const plain = await analyzeTexts({ 'mmu.c': mmu });
    const a = await analyzeTexts({ 'mmu.c': `${mmu}\n${deepIfs(800)}${AFTER}` });
    const deep = a.problems.filter((p) => p.code === 'too-deep');
    assert.deepEqual(deep, [
      {
        file: 'mmu.c',
        at: { line: mmuLines + 1, column: 5, endLine: mmuLines + 1, endColumn: 13 },
        severity: 'warning',
        code: 'too-deep',
        message: `lockpath: function deep_ifs nests 1606 levels deep (limit ${MAX_NESTING}): not analysed`,
      },
    ]);
    assert.ok(!a.problems.some((p) => /internal error/.test(p.message)), 'no internal error');
    assert.equal(a.findings.length, 3);
    assert.deepEqual(ids(a), ids(plain), 'the races of the rest of the file are the same');
    assert.equal(
      a.stats.functions,
      plain.stats.functions + 1,
      'every function but the deep one is indexed, after_deep too',
    );
  });

  it('3 000 nested parentheses and 10 000 nested braces: the same, and the function after them is indexed', () => {
    for (const [text, name, depth] of [
      [deepParens(3000), 'deep_parens', 3006],
      [deepBraces(10_000), 'deep_braces', 10_005],
    ] as const) {
      const f = index(`int before_deep(void)\n{\n\treturn 1;\n}\n${text}${AFTER}`);
      assert.deepEqual(
        f.functions.map((x) => x.name),
        ['before_deep', 'after_deep'],
        name,
      );
      const deep = f.problems.filter((p) => p.code === 'too-deep');
      assert.equal(deep.length, 1, name);
      assert.equal(deep[0].message, `lockpath: function ${name} nests ${depth} levels deep (limit 256): not analysed`);
      assert.equal(deep[0].at.line, 4, name);
    }
  });

  it('a function exactly at the bound is analysed; one level more is not', () => {
    // deep_parens(n) nests n + 6 levels: body, return, *, n parentheses, two field expressions, the identifier.
    const depthOf = (text: string): number => {
      const tree = parser.parse(text);
      try {
        const flat = flatten(tree, text);
        return flat.depthBelow(flat.rootNode.namedChild(0)!.index);
      } finally {
        tree.delete();
      }
    };
    assert.equal(depthOf(deepParens(MAX_NESTING - 6)), MAX_NESTING);
    const at = index(deepParens(MAX_NESTING - 6));
    assert.deepEqual(
      at.functions.map((x) => x.name),
      ['deep_parens'],
    );
    assert.ok(at.functions[0].touchesRoot, 'its body was lowered');
    assert.deepEqual(at.problems, []);
    const over = index(deepParens(MAX_NESTING - 5));
    assert.deepEqual(over.functions, []);
    assert.match(over.problems[0].message, /nests 257 levels deep \(limit 256\)/);
  });

  it('a deep function with a signature full of kernel macros, and one still being typed at the end of the file, become problems too', () => {
    const deepReturn = `\tspin_lock(&kvm->mmu_lock);\n\treturn *${'('.repeat(300)}kvm->arch.pgd${')'.repeat(300)};\n`;
    const macros = index(
      `${AFTER}static int __init __cold weird(struct kvm *kvm) __attribute__((noinline)) __acquires(kvm->mmu_lock)\n{\n${deepReturn}}\n`,
    );
    const typing = index(`${AFTER}int deep_typing(struct kvm *kvm) {\n${deepReturn}`);
    for (const [f, name, column] of [
      [macros, 'weird', 25],
      [typing, 'deep_typing', 4],
    ] as const) {
      assert.deepEqual(
        f.functions.map((x) => x.name),
        ['after_deep'],
        name,
      );
      assert.deepEqual(
        f.problems.filter((p) => p.severity !== 'info'),
        [
          {
            file: 't.c',
            at: { line: 5, column, endLine: 5, endColumn: column + name.length },
            severity: 'warning',
            code: 'too-deep',
            message: `lockpath: function ${name} nests 306 levels deep (limit 256): not analysed`,
          },
        ],
      );
    }
  });

  it('deep shapes at the bound are lowered and analysed whole: conditions, loops, casts, labels, initializers', async () => {
    const P = '*kvm->arch.pgd;';
    const shapes: Record<string, (n: number) => string> = {
      'else if': (n) => `if (a) x();\n${'else if (a) *kvm->arch.pgd;\n'.repeat(n)}`,
      '||': (n) => `if (${Array(n).fill('!kvm->arch.pgd').join(' || ')}) return;\n${P}`,
      '?:': (n) => `a = ${'a ? '.repeat(n)}kvm->arch.pgd${' : 0'.repeat(n)};`,
      while: (n) => `${'while (a) {\n'.repeat(n)}spin_lock(&kvm->mmu_lock);${P}${'}\n'.repeat(n)}`,
      do: (n) => `${'do {\n'.repeat(n)}${P}${'} while (a);\n'.repeat(n)}`,
      switch: (n) => `${'switch (a) { case 1:\n'.repeat(n)}${P}${'}\n'.repeat(n)}`,
      calls: (n) => `${'f('.repeat(n)}kvm->arch.pgd${')'.repeat(n)};`,
      casts: (n) => `a = ${'(int)'.repeat(n)}kvm->arch.pgd;`,
      labels: (n) => `${Array.from({ length: n }, (_, i) => `l${i}: `).join('')}${P}`,
      initializer: (n) => `struct s v = ${'{'.repeat(n)}kvm->arch.pgd${'}'.repeat(n)};`,
      '({ })': (n) => `a = ${'({ '.repeat(n)}${P}${' })'.repeat(n)};`,
    };
    const hook = mmu.replace(
      '\ttrace_kvm_age_hva(start, end);',
      '\ttrace_kvm_age_hva(start, end);\n\tdeep_fn(kvm, 0);',
    );
    for (const [shape, make] of Object.entries(shapes)) {
      // The deepest version of the shape that is within the bound.
      const fits = (k: number): boolean =>
        index(`void deep_fn(struct kvm *kvm, int a)\n{\n${make(k)}\n}\n`).functions.length === 1;
      let n = 1;
      for (let hi = MAX_NESTING; n < hi;) {
        const mid = (n + hi + 1) >> 1;
        if (fits(mid)) n = mid;
        else hi = mid - 1;
      }
      assert.ok(n > 40, `${shape}: only ${n} deep`);
      const a = await analyzeTexts({ 'mmu.c': `${hook}\nvoid deep_fn(struct kvm *kvm, int a)\n{\n${make(n)}\n}\n` });
      assert.ok(
        !a.problems.some((p) => p.severity !== 'info'),
        `${shape}: ${JSON.stringify(a.problems.filter((p) => p.severity !== 'info'))}`,
      );
      assert.ok(a.findings.length >= 3, `${shape}: ${a.findings.length} findings`);
    }
  });
});

describe('failure stays local: deep call chains', () => {
  it('a chain of 10 000 functions is cut at the bound and reported, never a stack overflow', async () => {
    const n = 10_000;
    const fns: string[] = [];
    for (let i = n - 1; i >= 0; i--) {
      const body = i === n - 1 ? '\treturn *kvm->arch.pgd;' : `\treturn deep_call_${i + 1}(kvm);`;
      fns.push(`static int deep_call_${i}(struct kvm *kvm)\n{\n${body}\n}\n`);
    }
    // A notifier hook (built-in hook table) that enters the chain, so it is enumerated from an entry.
    fns.push(
      'int kvm_age_hva(struct kvm *kvm, unsigned long start, unsigned long end)\n{\n\treturn deep_call_0(kvm);\n}\n',
    );
    const a = await analyzeTexts({ 'mmu.c': fns.join('\n') }, { model: kvmArmV4 });
    assert.ok(
      a.problems.some((p) =>
        /chains from kvm_age_hva .* were cut off \(a call chain deeper than 256 functions/.test(p.message),
      ),
      JSON.stringify(a.problems.slice(0, 5)),
    );
  });
});
