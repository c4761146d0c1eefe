// Edits through the Workspace (incremental re-parse, cached explorations) give exactly what a fresh analysis of
// the final text gives: positions move with the text, and a change in meaning changes the answer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Analysis } from '../../server/src/analysis';
import { analyzeTexts, exampleDir, readDir, workspaceOf } from '../helpers';

const show = (a: Analysis) => ({
  findings: a.findings.map((f) => [
    f.id,
    f.class,
    f.file,
    f.at,
    f.witness.map((s) => [s.lane, s.action, s.file, s.at]),
  ]),
  chains: a.chains.map((c) => [c.chain.id, c.verdict.verdict, c.verdict.reason, c.chain.hops]),
});

describe('incremental analysis', () => {
  it('matches a fresh analysis after edits that move lines, and after one that adds a guard', async () => {
    const files = readDir(exampleDir);
    const ws = await workspaceOf(files);
    ws.analyze();
    const mmu = 'virt/kvm/arm/mmu.c';
    ws.applyChanges(mmu, [
      { start: { line: 3, character: 0 }, end: { line: 3, character: 0 }, text: '/* one */\n/* two */\n' },
    ]);
    let after = ws.analyze();
    assert.deepEqual(show(after), show(await analyzeTexts({ ...files, [mmu]: ws.text(mmu)! })));
    assert.equal(after.findings.length, 3);

    // The thread's fix: kvm_age_hva tests the pointer before walking.
    const text = ws.text(mmu)!;
    const line = text.split('\n').findIndex((l) => l.startsWith('int kvm_age_hva('));
    const body = text.split('\n').findIndex((l, i) => i > line && l === '{');
    ws.applyChanges(mmu, [
      {
        start: { line: body + 1, character: 0 },
        end: { line: body + 1, character: 0 },
        text: '\tif (!kvm->arch.pgd)\n\t\treturn 0;\n',
      },
    ]);
    after = ws.analyze();
    assert.deepEqual(show(after), show(await analyzeTexts({ ...files, [mmu]: ws.text(mmu)! })));
    assert.deepEqual(
      after.findings.map((f) => f.chain.entry.via),
      ['kvm_mmu_notifier_ops.test_young'],
    );
    ws.dispose();
  });
});

describe('compiled programs kept across edits', () => {
  it('are kept when a comment is rewritten or a function moves, compiled again when statements in an inlined function move, all compiled again after a change in meaning; each analysis equals a fresh one', async () => {
    const files = readDir(exampleDir);
    const mmu = 'virt/kvm/arm/mmu.c';
    const ws = await workspaceOf(files);
    ws.keepTree(mmu);
    const first = ws.analyze();
    const programs = first.simulations.length;
    const step = async (
      line: number,
      from: number,
      to: number,
      text: string,
    ): Promise<{ hits: number; misses: number }> => {
      const before = ws.programStats();
      ws.applyChanges(mmu, [{ start: { line, character: from }, end: { line, character: to }, text }]);
      const a = ws.analyze();
      assert.deepEqual(
        show(a),
        show(await analyzeTexts({ ...files, [mmu]: ws.text(mmu)! })),
        `after ${JSON.stringify(text)}`,
      );
      const after = ws.programStats();
      return { hits: after.hits - before.hits, misses: after.misses - before.misses };
    };
    const lineOf = (s: string) =>
      ws
        .text(mmu)!
        .split('\n')
        .findIndex((l) => l.includes(s));
    // A comment at the end of a line in kvm_age_hva, then rewritten: nothing but text hashes changes.
    const trace = lineOf('trace_kvm_age_hva(start, end);');
    const end = ws.text(mmu)!.split('\n')[trace].length;
    await step(trace, end, end, ' /* a */');
    assert.deepEqual(await step(trace, end, end + 8, ' /* b */'), { hits: programs, misses: 0 });
    // A line inserted in kvm_age_hva: its statements below it move, so the programs inlining it are compiled again;
    // every function below it moves too, and the programs inlining those follow them (positions, and the names of
    // temporaries made from positions). Either way the analysis equals a fresh one.
    const inlining = first.simulations.filter((sim) =>
      sim.program.frames.some((f) => f.fn.name === 'kvm_age_hva'),
    ).length;
    const below = first.simulations.filter((sim) =>
      sim.program.frames.some((f) => f.fn.file === mmu && f.fn.span.line > trace),
    ).length;
    assert.ok(
      inlining > 0 && below > inlining,
      `${inlining} programs inline kvm_age_hva, ${below} a function below it`,
    );
    assert.deepEqual(await step(trace, 0, 0, '\t/* c */\n'), { hits: programs - inlining, misses: inlining });
    // A guard: a change in meaning, so every program is compiled again.
    const open = lineOf('int kvm_age_hva(') + 2;
    assert.deepEqual(await step(open, 0, 0, '\tif (!kvm->arch.pgd)\n\t\treturn 0;\n'), { hits: 0, misses: programs });
    ws.dispose();
  });
});

describe('a typo in one function', () => {
  it('does not take the functions after it away (the parser nests them; they are parsed again on their own)', async () => {
    const files = readDir(exampleDir);
    const mmu = 'virt/kvm/arm/mmu.c';
    const lines = files[mmu].split('\n');
    const at = lines.findIndex((l) =>
      l.includes('return handle_hva_to_gpa(kvm, start, end, kvm_age_hva_handler, NULL);'),
    );
    assert.ok(at > 0);
    lines[at] = '\treturn1 handle_hva_to_gpa(kvm, start, end,; kvm_age_hva_handler, NULL);';
    const clean = await analyzeTexts(files);
    const typo = await analyzeTexts({ ...files, [mmu]: lines.join('\n') });
    const count = (a: Analysis) => a.files.find((f) => f.file === mmu)!.functions.length;
    assert.equal(count(typo), count(clean));
    const ids = (a: Analysis) => a.findings.map((f) => f.id);
    const testAge = clean.findings.find((f) => f.chain.entry.via === 'kvm_mmu_notifier_ops.test_young')!;
    assert.ok(ids(typo).includes(testAge.id), 'the kvm_test_age_hva race is still reported, under the same id');
    assert.ok(
      !typo.graph
        .lookup('kvm_age_hva')!
        .calls.some((c) => c.callee.kind === 'direct' && c.callee.name === 'kvm_free_stage2_pgd'),
    );
  });
});
