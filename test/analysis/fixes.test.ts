// Quick fixes, end to end on real parses: every fix offered for every finding of every fixture is applied, and
// the result must still parse, change nothing but the lines it names, make its finding go away without making
// new ones, and not be offered a second time. A few fixes are checked to the byte (kernel style: tabs, the
// return value the function's type needs, the v4.12 shape of the free function).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { loadParser, Workspace, type Analysis, type CParser, type Finding } from '../../server/src/analysis';
import { fixesFor, type Fix, type TextEdit } from '../../server/src/analysis/fixes';
import { exampleDir, fixturesDir, readDir } from '../helpers';

type Files = Record<string, string>;

let parser: CParser;
before(async () => {
  parser = await loadParser();
});

function analyze(files: Files): Analysis {
  const ws = new Workspace(parser);
  for (const [path, text] of Object.entries(files)) ws.setFile(path, text);
  try {
    return ws.analyze();
  } finally {
    ws.dispose();
  }
}

const textOf = (files: Files) => (file: string) => files[file];

/** Offsets by the test's own arithmetic (not the library's), so a wrong span cannot be hidden by a matching bug. */
function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split('\n');
  assert.ok(line < lines.length, `line ${line} is past the end`);
  const content = lines[line].replace(/\r$/, '');
  assert.ok(column <= content.length, `column ${column} is past the end of line ${line}`);
  return lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0) + column;
}

function apply(files: Files, edits: readonly TextEdit[]): Files {
  const out = { ...files };
  for (const file of new Set(edits.map((e) => e.file))) {
    const old = files[file];
    assert.ok(old !== undefined, `edit in a file the workspace does not have: ${file}`);
    const ranges = edits
      .filter((e) => e.file === file)
      .map((e) => ({
        start: offsetOf(old, e.span.line, e.span.column),
        end: offsetOf(old, e.span.endLine, e.span.endColumn),
        text: e.newText,
      }))
      .sort((a, b) => b.start - a.start);
    let text = old;
    let limit = old.length;
    for (const r of ranges) {
      assert.ok(r.start <= r.end && r.end <= limit, 'edits overlap or run backwards');
      text = text.slice(0, r.start) + r.text + text.slice(r.end);
      limit = r.start;
    }
    // Bytes outside the edits are unchanged (checked for the single-edit case, which every fix here is).
    if (ranges.length === 1) {
      const [r] = ranges;
      assert.equal(text.slice(0, r.start), old.slice(0, r.start));
      assert.equal(text.slice(r.start + r.text.length), old.slice(r.end));
    }
    out[file] = text;
  }
  return out;
}

/** ERROR and MISSING nodes in a parse of `text`. */
function brokenNodes(text: string): number {
  const tree = parser.parse(text);
  try {
    const c = tree.walk();
    let n = 0;
    for (;;) {
      const node = c.currentNode;
      if (node.type === 'ERROR' || node.isMissing) n++;
      if (c.gotoFirstChild()) continue;
      while (!c.gotoNextSibling()) if (!c.gotoParent()) return n;
    }
  } finally {
    tree.delete();
  }
}

/** The function holding a position, by the analysis' own facts. */
function functionAt(a: Analysis, file: string, line: number): string | undefined {
  const ff = a.files.find((f) => f.file === file);
  return ff?.functions.find((fn) => fn.span.line <= line && line <= fn.span.endLine)?.name;
}

const where = (f: Finding): string => `${f.class} / ${f.chain.entry.via} / ${f.function}`;

/** What a fix's edits are, independent of line numbers: file, enclosing function, text. */
function editKeys(a: Analysis, edits: readonly TextEdit[]): string[] {
  return edits.map((e) => `${e.file}|${functionAt(a, e.file, e.span.line)}|${e.newText}`);
}

function checkShape(a: Analysis, files: Files, finding: Finding, fix: Fix): void {
  assert.equal(fix.findingId, finding.id);
  assert.ok(fix.title && fix.explanation, 'a fix says what it does and why');
  assert.ok(fix.edits.length > 0);
  for (const e of fix.edits) {
    const text = files[e.file];
    const crlf = text.includes('\r\n');
    // The file's line endings, and no others.
    if (!crlf) assert.ok(!e.newText.includes('\r'), 'no CR in an LF file');
    else assert.ok(!/[^\r]\n/.test(e.newText), 'no bare LF in a CRLF file');
    const insertion = e.span.line === e.span.endLine && e.span.column === e.span.endColumn;
    if (insertion) {
      // Whole new lines, before an existing one.
      assert.equal(e.span.column, 0, 'insertions start a line');
      assert.ok(e.newText.endsWith(crlf ? '\r\n' : '\n'), 'insertions are whole lines');
    } else {
      // The one replacement a fix may make: the free function's body, braces included.
      const free = a.graph.lookup(a.model.freeFunction);
      assert.ok(free, 'a replacement needs the free function');
      assert.deepEqual(e.span, free.bodySpan, 'only the free function body is ever replaced');
      assert.ok(e.newText.startsWith('{') && e.newText.endsWith('}'));
    }
  }
}

interface Tally {
  findings: number;
  fixes: number;
  reanalyses: number;
  withoutFix: string[];
  /** Every fix applied: its title and how many findings its chain still had afterwards. */
  honest: { title: string; left: number }[];
}

/** Every fix for every finding of `files`, applied and judged. */
function exerciseAll(files: Files, t?: TestContext): Tally {
  const a = analyze(files);
  const tally: Tally = { findings: a.findings.length, fixes: 0, reanalyses: 0, withoutFix: [], honest: [] };
  // Every (entry, function) with a hazard before: where findings lead, and the later places on their chains.
  const sitesBefore = new Set(
    a.findings.flatMap((f) =>
      [f.function, ...(f.alsoAt ?? []).map((x) => x.function)].map((fn) => `${f.chain.entry.via}|${fn}`),
    ),
  );
  const brokenBefore = new Map(Object.entries(files).map(([p, text]) => [p, brokenNodes(text)]));
  const afterCache = new Map<string, { files: Files; analysis: Analysis }>();
  for (const finding of a.findings) {
    const fixes = fixesFor(a, finding, textOf(files));
    if (!fixes.length) tally.withoutFix.push(where(finding));
    assert.equal(fixes.filter((x) => x.preferred).length, fixes.length ? 1 : 0, 'one preferred fix');
    if (fixes.length) assert.ok(fixes[0].preferred, 'the preferred fix comes first');
    for (const fix of fixes) {
      tally.fixes++;
      checkShape(a, files, finding, fix);
      const key = JSON.stringify(fix.edits);
      let after = afterCache.get(key);
      if (!after) {
        const changed = apply(files, fix.edits);
        for (const file of new Set(fix.edits.map((e) => e.file))) {
          assert.ok(brokenNodes(changed[file]) <= brokenBefore.get(file)!, `${fix.title}: new parse errors in ${file}`);
        }
        after = { files: changed, analysis: analyze(changed) };
        tally.reanalyses++;
        afterCache.set(key, after);
      }
      const b = after.analysis;
      const label = `${fix.title} (for ${where(finding)})`;
      // The finding is gone: same class, same function, same entry.
      const still = b.findings.filter(
        (g) =>
          g.class === finding.class && g.function === finding.function && g.chain.entry.via === finding.chain.entry.via,
      );
      assert.deepEqual(still.map(where), [], `${label}: the finding is still there`);
      // Nothing new: every finding left is at an (entry, function) that had a hazard before. (A fix can unmask
      // another class at the same access, e.g. the unguarded aging hooks of v4.10 once teardown takes the lock,
      // or let a later access on the same chain lead, e.g. stage2_get_pmd once stage2_get_pud tests the root.)
      const fresh = b.findings.filter((g) => !sitesBefore.has(`${g.chain.entry.via}|${g.function}`));
      assert.deepEqual(fresh.map(where), [], `${label}: new findings`);
      // Honest titles: a fix that leaves a finding on the same chain says so.
      const left = b.findings.filter((g) => g.chain.id === finding.chain.id);
      if (left.length)
        assert.match(
          fix.title,
          /remains?\b/,
          `${label}: leaves ${left.map(where).join(', ')} on the chain, and the title does not say so`,
        );
      else
        assert.doesNotMatch(
          fix.title,
          /remains?\b/,
          `${label}: the title says something remains, but the chain is clean`,
        );
      tally.honest.push({ title: fix.title, left: left.length });
      // Not offered again, for this finding or any left.
      const applied = new Set(editKeys(a, fix.edits));
      for (const g of [finding, ...b.findings]) {
        for (const again of fixesFor(b, g, textOf(after.files))) {
          for (const k of editKeys(b, again.edits))
            assert.ok(!applied.has(k), `${label}: offered again as "${again.title}"`);
        }
      }
    }
  }
  t?.diagnostic(
    `${tally.findings} findings, ${tally.fixes} fixes applied, ${tally.reanalyses} re-analyses${tally.withoutFix.length ? `; no fix for: ${tally.withoutFix.join('; ')}` : ''}`,
  );
  return tally;
}

const history = ['v4.10', 'v4.11', 'v4.12', 'v4.13'].map((v) => ({
  name: `history/${v}`,
  dir: join(fixturesDir, 'history', v),
}));
const classes = [
  'teardown-without-lock',
  'stale-after-lock-drop',
  'unguarded-notifier-path',
  'cleared-outside-lock',
].flatMap((c) =>
  ['before', 'after'].map((s) => ({ name: `classes/${c}/${s}`, dir: join(fixturesDir, 'classes', c, s) })),
);
const corpora = [
  { name: 'examples/v4.12', dir: exampleDir },
  ...history,
  ...classes,
  { name: 'fixes/return-types', dir: join(fixturesDir, 'fixes', 'return-types') },
].filter((c) => existsSync(c.dir));

describe('every fix on every finding', () => {
  const totals = { findings: 0, fixes: 0 };
  for (const c of corpora) {
    it(c.name, (t) => {
      const tally = exerciseAll(readDir(c.dir), t);
      totals.findings += tally.findings;
      totals.fixes += tally.fixes;
    });
  }
  it('CRLF files get CRLF fixes (history/v4.11: all three kinds of fix)', (t) => {
    const files = Object.fromEntries(
      Object.entries(readDir(join(fixturesDir, 'history', 'v4.11'))).map(([p, text]) => [
        p,
        text.replace(/\r?\n/g, '\r\n'),
      ]),
    );
    const tally = exerciseAll(files, t);
    assert.ok(tally.fixes > 0);
  });
  it('exercised something', (t) => {
    t.diagnostic(`in all: ${totals.findings} findings, ${totals.fixes} fixes`);
    assert.ok(totals.fixes >= totals.findings / 2, 'most findings have a fix');
  });
});

/**
 * Variants of one file that real edits make: each guard of the root taken out (with the return or goto it guards),
 * each lock or unlock of mmu_lock taken out, and seeded deletions of single lines inside function bodies.
 */
function mutations(text: string, randomDeletions: number, seed: number): { name: string; text: string }[] {
  const lines = text.split('\n');
  const without = (from: number, count: number): string =>
    [...lines.slice(0, from), ...lines.slice(from + count)].join('\n');
  const out: { name: string; text: string }[] = [];
  lines.forEach((l, i) => {
    const t = l.trim();
    if (/^if \(!?(READ_ONCE\()?kvm->arch\.pgd/.test(t) || /^if \(!(pgd|pud|pmd)\)/.test(t)) {
      const guarded = /^(return\b.*|goto \w+);$/.test(lines[i + 1]?.trim() ?? '') ? 2 : 1;
      out.push({ name: `without the guard at line ${i + 1}`, text: without(i, guarded) });
    }
    if (/^spin_(un)?lock\(&kvm->mmu_lock\);$/.test(t))
      out.push({ name: `without ${t} at line ${i + 1}`, text: without(i, 1) });
  });
  const body = lines.map((l, i) => (/^\t+\S/.test(l) ? i : -1)).filter((i) => i >= 0);
  for (let k = 0; k < randomDeletions; k++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const i = body[(seed >>> 8) % body.length];
    out.push({ name: `without line ${i + 1}`, text: without(i, 1) });
  }
  return out;
}

describe('every fix on every finding of mutated inputs', () => {
  const totals = { variants: 0, findings: 0, fixes: 0, saidRemains: 0, leftSomething: 0, overcautious: [] as string[] };
  for (const [name, dir, file] of [
    ['examples/v4.12', exampleDir, 'virt/kvm/arm/mmu.c'],
    ['history/v4.13', join(fixturesDir, 'history', 'v4.13'), 'mmu.c'],
  ] as const) {
    it(name, (t) => {
      const files = readDir(dir);
      for (const m of mutations(files[file], 12, name.length)) {
        const tally = exerciseAll({ ...files, [file]: m.text });
        totals.variants++;
        totals.findings += tally.findings;
        totals.fixes += tally.fixes;
        for (const h of tally.honest) {
          if (/remains?\b/.test(h.title)) totals.saidRemains++;
          if (h.left) totals.leftSomething++;
          else if (/remains?\b/.test(h.title)) totals.overcautious.push(`${m.name}: ${h.title}`);
        }
      }
      t.diagnostic(`${totals.variants} variants so far: ${totals.findings} findings, ${totals.fixes} fixes applied`);
    });
  }
  it('exercised something', (t) => {
    t.diagnostic(
      `${totals.saidRemains} titles say something remains; ${totals.leftSomething} fixes left a finding on the chain; said so needlessly: ${totals.overcautious.join(' | ') || 'none'}`,
    );
    assert.ok(
      totals.leftSomething > 0,
      'some mutation leaves a finding on the chain after its fix (the honest-title check ran)',
    );
    assert.ok(totals.variants >= 30, `${totals.variants} variants`);
    assert.ok(totals.fixes >= 20, `${totals.fixes} fixes applied on mutated inputs`);
  });
});

function findingOf(a: Analysis, pred: (f: Finding) => boolean, what: string): Finding {
  const f = a.findings.find(pred);
  assert.ok(f, `no finding ${what}; have ${a.findings.map(where).join(', ')}`);
  return f;
}

/** The line (0-based) of the first line of `text` whose content, trimmed, is `content`. */
function lineOf(text: string, content: string, after = 0): number {
  const i = text.split('\n').findIndex((l, n) => n >= after && l.trim() === content);
  assert.ok(i >= 0, `no line ${content}`);
  return i;
}

describe('the fix text, to the byte', () => {
  it('v4.12 example: kvm_age_hva gets the hook guard first (tabs, return 0), stage2_get_pud the walker guard (return NULL)', () => {
    const files = readDir(exampleDir);
    const a = analyze(files);
    const f = findingOf(
      a,
      (x) => x.class === 'unguarded-notifier-path' && x.chain.path.includes('kvm_age_hva'),
      'on kvm_age_hva',
    );
    const [hook, walker, ...rest] = fixesFor(a, f, textOf(files));
    assert.equal(rest.length, 0);
    const mmu = 'virt/kvm/arm/mmu.c';
    const text = files[mmu];
    assert.equal(hook.title, 'Check kvm->arch.pgd in kvm_age_hva (mmu-notifier hook)');
    assert.equal(hook.preferred, true);
    const hookFn = lineOf(text, 'int kvm_age_hva(struct kvm *kvm, unsigned long start, unsigned long end)');
    assert.deepEqual(hook.edits, [
      {
        file: mmu,
        span: { line: hookFn + 2, column: 0, endLine: hookFn + 2, endColumn: 0 },
        newText:
          '\t/*\n' +
          "\t * Only mmu-notifier callers need this: they run outside the VM's own\n" +
          '\t * context, under kvm->mmu_lock, possibly after mmu_notifier_release\n' +
          '\t * freed the stage-2 tables.\n' +
          '\t */\n' +
          '\tif (!kvm->arch.pgd)\n' +
          '\t\treturn 0;\n',
      },
    ]);
    assert.equal(
      text.split('\n')[hookFn + 2].trim(),
      'trace_kvm_age_hva(start, end);',
      'at the top of the body (no declarations)',
    );

    assert.equal(walker.title, 'Check kvm->arch.pgd in stage2_get_pud (every caller pays)');
    assert.equal(walker.preferred, false);
    const walkerFn = lineOf(text, 'static pud_t *stage2_get_pud(struct kvm *kvm, struct kvm_mmu_memory_cache *cache,');
    const firstRead = lineOf(text, 'pgd = kvm->arch.pgd + stage2_pgd_index(addr);', walkerFn);
    assert.deepEqual(walker.edits, [
      {
        file: mmu,
        span: { line: firstRead, column: 0, endLine: firstRead, endColumn: 0 },
        newText:
          '\t/*\n' +
          '\t * Every caller pays for this check, though only mmu-notifier paths\n' +
          '\t * (under kvm->mmu_lock, not pinning the VM) can find the tables freed\n' +
          '\t * by kvm_free_stage2_pgd.\n' +
          '\t */\n' +
          '\tif (!kvm->arch.pgd)\n' +
          '\t\treturn NULL;\n',
      },
    ]);
  });

  it('a void hook returns with `return;`, after its declarations and above the comment of its first statement', () => {
    const files = readDir(join(fixturesDir, 'fixes', 'return-types'));
    const a = analyze(files);
    const f = findingOf(a, (x) => x.chain.path.includes('kvm_set_spte_hva'), 'on kvm_set_spte_hva');
    const [hook] = fixesFor(a, f, textOf(files));
    assert.equal(hook.title, 'Check kvm->arch.pgd in kvm_set_spte_hva (mmu-notifier hook)');
    const at = lineOf(files['mmu.c'], '/* the new pte, with stage-2 attributes */');
    assert.deepEqual(hook.edits[0].span, { line: at, column: 0, endLine: at, endColumn: 0 });
    assert.ok(hook.edits[0].newText.endsWith('\t */\n\tif (!kvm->arch.pgd)\n\t\treturn;\n'), hook.edits[0].newText);
  });

  it('a bool walker returns false, before the declaration that reads the root', () => {
    const files = readDir(join(fixturesDir, 'fixes', 'return-types'));
    const a = analyze(files);
    const f = findingOf(a, (x) => x.function === 'stage2_pmd_young', 'in stage2_pmd_young');
    const [hook, walker] = fixesFor(a, f, textOf(files));
    assert.ok(hook.edits[0].newText.endsWith('\tif (!kvm->arch.pgd)\n\t\treturn 0;\n'), 'kvm_test_age_hva returns int');
    assert.equal(walker.title, 'Check kvm->arch.pgd in stage2_pmd_young (every caller pays)');
    const at = lineOf(files['mmu.c'], 'pgd_t *pgd = kvm->arch.pgd + stage2_pgd_index(gpa);');
    assert.deepEqual(walker.edits[0].span, { line: at, column: 0, endLine: at, endColumn: 0 });
    assert.ok(walker.edits[0].newText.endsWith('\tif (!kvm->arch.pgd)\n\t\treturn false;\n'), walker.edits[0].newText);
  });

  it('stale-after-lock-drop: the v4.12 re-check at the top of the loop that reschedules', () => {
    const files = readDir(join(fixturesDir, 'classes', 'stale-after-lock-drop', 'before'));
    const a = analyze(files);
    const f = findingOf(
      a,
      (x) => x.class === 'stale-after-lock-drop' && x.function !== a.model.freeFunction,
      'stale in a walker',
    );
    const [fix] = fixesFor(a, f, textOf(files));
    assert.equal(fix.title, 'Re-check kvm->arch.pgd after cond_resched_lock in unmap_stage2_range');
    const text = files['mmu.c'];
    const loopAt = lineOf(
      text,
      'do {',
      lineOf(text, 'static void unmap_stage2_range(struct kvm *kvm, phys_addr_t start, u64 size)'),
    );
    assert.deepEqual(fix.edits, [
      {
        file: 'mmu.c',
        span: { line: loopAt + 1, column: 0, endLine: loopAt + 1, endColumn: 0 },
        newText:
          '\t\t/* cond_resched_lock dropped the lock: the tables may be gone */\n\t\tif (!READ_ONCE(kvm->arch.pgd))\n\t\t\tbreak;\n',
      },
    ]);
  });

  const v412FreeBody = [
    '{',
    '\tvoid *pgd = NULL;',
    '',
    '\tspin_lock(&kvm->mmu_lock);',
    '\tif (kvm->arch.pgd) {',
    '\t\tunmap_stage2_range(kvm, 0, KVM_PHYS_SIZE);',
    '\t\tpgd = READ_ONCE(kvm->arch.pgd);',
    '\t\tkvm->arch.pgd = NULL;',
    '\t}',
    '\tspin_unlock(&kvm->mmu_lock);',
    '',
    '\tif (pgd)',
    '\t\tfree_pages_exact(pgd, S2_PGD_SIZE);',
    '}',
  ].join('\n');

  for (const [name, dir] of [
    ['history/v4.10 (no lock at all)', join(fixturesDir, 'history', 'v4.10')],
    ['history/v4.11 (test and free outside the lock)', join(fixturesDir, 'history', 'v4.11')],
    [
      'classes/teardown-without-lock/before (a local copy, no lock)',
      join(fixturesDir, 'classes', 'teardown-without-lock', 'before'),
    ],
  ]) {
    it(`the free function in the v4.12 shape: ${name}`, () => {
      const files = readDir(dir);
      const a = analyze(files);
      const onFree = findingOf(a, (x) => x.function === a.model.freeFunction, 'in the free function');
      const [own] = fixesFor(a, onFree, textOf(files));
      assert.equal(own.title, 'Test and clear kvm->arch.pgd under kvm->mmu_lock in kvm_free_stage2_pgd');
      assert.equal(own.edits.length, 1);
      assert.equal(own.edits[0].newText, v412FreeBody);
      // From a notifier's access, the same rewrite, titled as the free side's fault.
      const onNotifier = findingOf(
        a,
        (x) =>
          (x.class === 'cleared-outside-lock' || x.class === 'teardown-without-lock') &&
          x.chain.context === 'mmu-notifier',
        'on a notifier',
      );
      const [side] = fixesFor(a, onNotifier, textOf(files));
      // v4.11 also drops the lock in the walk: the re-check's finding stays on the notifier's chain, and the title says so.
      const remains = name.startsWith('history/v4.11')
        ? ' (the stale-after-lock-drop finding on this chain remains)'
        : '';
      assert.equal(
        side.title,
        `Fix the free side: test and clear kvm->arch.pgd under kvm->mmu_lock in kvm_free_stage2_pgd${remains}`,
      );
      assert.deepEqual(side.edits, own.edits);
    });
  }
});

describe('when unsure, nothing', () => {
  it('never throws, and offers nothing without the text or for a text that changed since the analysis', () => {
    const files = readDir(exampleDir);
    const a = analyze(files);
    for (const f of a.findings) {
      assert.deepEqual(
        fixesFor(a, f, () => undefined),
        [],
      );
      assert.deepEqual(
        fixesFor(a, f, (p) => '/* moved */\n' + files[p]),
        [],
      );
      assert.deepEqual(fixesFor(a, { ...f, class: 'no-such-class' as Finding['class'] }, textOf(files)), []);
      assert.doesNotThrow(() =>
        fixesFor(a, { ...f, chain: { ...f.chain, path: [], hops: [], walker: undefined! } }, textOf(files)),
      );
      assert.deepEqual(fixesFor(a, { ...f, witness: undefined!, chain: undefined! }, textOf(files)), []);
      assert.deepEqual(fixesFor(undefined!, f, textOf(files)), []);
    }
  });

  it('recognises a guard already there, spelled `== NULL`', () => {
    const files = readDir(join(fixturesDir, 'history', 'v4.12'));
    const a = analyze(files);
    const f = findingOf(a, (x) => x.chain.path.includes('kvm_test_age_hva'), 'on kvm_test_age_hva');
    assert.ok(fixesFor(a, f, textOf(files)).some((x) => x.title.includes('kvm_test_age_hva')));
    const text = files['mmu.c'];
    const head = lineOf(text, 'int kvm_test_age_hva(struct kvm *kvm, unsigned long hva)');
    const lines = text.split('\n');
    lines.splice(head + 2, 0, '\tif (kvm->arch.pgd == NULL)', '\t\treturn 0;');
    const guarded = { ...files, 'mmu.c': lines.join('\n') };
    const b = analyze(guarded);
    const titles = fixesFor(b, f, textOf(guarded)).map((x) => x.title);
    assert.ok(!titles.some((t) => t.includes('kvm_test_age_hva')), titles.join('; '));
  });

  it('does not rewrite a free function holding something the rewrite would drop', () => {
    const files = readDir(join(fixturesDir, 'history', 'v4.10'));
    const text = files['mmu.c'];
    const at = lineOf(
      text,
      'unmap_stage2_range(kvm, 0, KVM_PHYS_SIZE);',
      lineOf(text, 'void kvm_free_stage2_pgd(struct kvm *kvm)'),
    );
    const lines = text.split('\n');
    lines.splice(at + 1, 0, '\tkvm_flush_remote_tlbs(kvm);');
    const changed = { ...files, 'mmu.c': lines.join('\n') };
    const a = analyze(changed);
    const f = findingOf(a, (x) => x.function === a.model.freeFunction, 'in the free function');
    assert.deepEqual(
      fixesFor(a, f, textOf(changed)).filter((x) => x.title.includes(a.model.freeFunction)),
      [],
    );
  });
});

// The classifier decides the story; these pin down which fix each story gets, whatever today's fixtures are
// classified as (the same finding, re-labelled).
describe('which fix for which story', () => {
  it('may-be-freed after a lock drop: the re-check first', () => {
    const files = readDir(join(fixturesDir, 'classes', 'stale-after-lock-drop', 'before'));
    const a = analyze(files);
    const f = findingOf(
      a,
      (x) => x.class === 'stale-after-lock-drop' && x.chain.context === 'mmu-notifier',
      'stale on a notifier',
    );
    const fixes = fixesFor(a, { ...f, class: 'may-be-freed' }, textOf(files));
    assert.equal(fixes[0]?.title, 'Re-check kvm->arch.pgd after cond_resched_lock in unmap_stage2_range');
    assert.ok(!fixes.some((x) => x.title.includes('kvm_unmap_hva_range')), 'the hook already tests the root');
  });

  it('a class whose own fix is already in the code falls back to the re-check when the witness drops the lock', () => {
    const files = readDir(join(fixturesDir, 'classes', 'stale-after-lock-drop', 'before'));
    const a = analyze(files);
    const f = findingOf(
      a,
      (x) => x.class === 'stale-after-lock-drop' && x.chain.context === 'mmu-notifier',
      'stale on a notifier',
    );
    // kvm_free_stage2_pgd is already in the v4.12 shape here: no rewrite, but the lock drop is still there.
    const fixes = fixesFor(a, { ...f, class: 'cleared-outside-lock' }, textOf(files));
    assert.deepEqual(
      fixes.map((x) => x.title),
      ['Re-check kvm->arch.pgd after cond_resched_lock in unmap_stage2_range'],
    );
  });

  it("a double free, even told as a stale story, is the free function's to fix", () => {
    const files = readDir(join(fixturesDir, 'history', 'v4.11'));
    const a = analyze(files);
    const f = findingOf(a, (x) => x.function === a.model.freeFunction, 'in the free function');
    const fixes = fixesFor(a, { ...f, class: 'stale-after-lock-drop', kind: 'double-free' }, textOf(files));
    assert.deepEqual(
      fixes.map((x) => x.title),
      ['Test and clear kvm->arch.pgd under kvm->mmu_lock in kvm_free_stage2_pgd'],
    );
  });
});

describe('honest titles', () => {
  it('a NULL test on a tree whose free path lost its lock says the freed case remains, and it does', () => {
    const files = readDir(exampleDir);
    const mmu = 'virt/kvm/arm/mmu.c';
    const lines = files[mmu].split('\n');
    const free = lines.findIndex((l) => l.startsWith('void kvm_free_stage2_pgd('));
    const lock = lines.findIndex((l, i) => i > free && l.trim() === 'spin_lock(&kvm->mmu_lock);');
    const unlock = lines.findIndex((l, i) => i > free && l.trim() === 'spin_unlock(&kvm->mmu_lock);');
    assert.ok(free > 0 && lock > free && unlock > lock);
    const lost = { ...files, [mmu]: lines.filter((_, i) => i !== lock && i !== unlock).join('\n') };
    const a = analyze(lost);
    const nullDeref = findingOf(
      a,
      (f) => f.kind === 'null-deref' && f.function === 'stage2_get_pud' && f.chain.context === 'mmu-notifier',
      'NULL in stage2_get_pud',
    );
    const fixes = fixesFor(a, nullDeref, textOf(lost));
    const walker = fixes.find((f) => f.title.startsWith('Check kvm->arch.pgd in stage2_get_pud'));
    assert.ok(walker, fixes.map((f) => f.title).join(' | '));
    assert.equal(
      walker.title,
      'Check kvm->arch.pgd in stage2_get_pud (every caller pays; guards the NULL case; the freed case remains)',
    );
    const after = analyze(apply(lost, walker.edits));
    const left = after.findings.filter((g) => g.chain.id === nullDeref.chain.id);
    assert.ok(
      left.some((g) => g.kind === 'use-after-free' || g.kind === 'concurrent-teardown' || g.class === 'may-be-freed'),
      left.map(where).join(', '),
    );
    // On the example as it is (the free path clears under the lock), the same fix promises nothing more than it does.
    const clean = analyze(files);
    const plain = fixesFor(
      clean,
      findingOf(clean, (f) => f.function === 'stage2_get_pud', 'in stage2_get_pud'),
      textOf(files),
    );
    assert.ok(
      plain.some((f) => f.title === 'Check kvm->arch.pgd in stage2_get_pud (every caller pays)'),
      plain.map((f) => f.title).join(' | '),
    );
  });
});
