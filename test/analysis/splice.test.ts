// Re-indexing only the edited function: after every edit the facts equal those of indexing the whole new text
// from scratch, and when the edit stays inside one function the facts of the functions before it are reused as
// they are (the same objects), which is what makes the shortcut worth having.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Analysis, FileFacts, Model, TextChange, Workspace } from '../../server/src/analysis';
import { exampleDir, readDir, workspaceOf } from '../helpers';

const MMU = 'virt/kvm/arm/mmu.c';

function factsOf(ws: Workspace, model: Model, file: string): FileFacts {
  return ws.facts(model).find((f) => f.file === file)!;
}

async function freshFacts(model: Model, files: Record<string, string>, file: string, text: string): Promise<FileFacts> {
  const ws = await workspaceOf({ ...files, [file]: text });
  try {
    return factsOf(ws, model, file);
  } finally {
    ws.dispose();
  }
}

/** What an analysis says, positions included (findings with their witnesses, chains with their verdicts). */
const show = (a: Analysis) => ({
  findings: a.findings.map((f) => [
    f.id,
    f.class,
    f.file,
    f.at,
    f.message,
    f.witness.map((s) => [s.lane, s.action, s.file, s.at]),
  ]),
  chains: a.chains.map((c) => [c.chain.id, c.verdict.verdict, c.verdict.reason, c.chain.hops]),
});

function positionAt(text: string, offset: number): { line: number; character: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length };
}

describe('re-indexing one function after an edit', () => {
  it('reuses the functions before the edit and moves the ones after it', async () => {
    const files = readDir(exampleDir);
    const ws = await workspaceOf(files);
    // As the server does for a document open in the editor: its tree outlives the cold index.
    ws.keepTree(MMU);
    const { model } = ws.analyze();
    const before = factsOf(ws, model, MMU);
    const lines = files[MMU].split('\n');
    const line = lines.findIndex((l) => l.includes('trace_kvm_age_hva(start, end);'));
    ws.applyChanges(MMU, [
      { start: { line, character: 0 }, end: { line, character: 0 }, text: '\t/* one */\n\t/* two */\n' },
    ]);
    const after = factsOf(ws, model, MMU);
    const i = before.functions.findIndex((f) => f.name === 'kvm_age_hva');
    assert.ok(i > 0);
    for (let j = 0; j < i; j++)
      assert.equal(after.functions[j], before.functions[j], `${before.functions[j].name} is reused`);
    assert.notEqual(after.functions[i], before.functions[i]);
    for (let j = i + 1; j < before.functions.length; j++)
      assert.equal(after.functions[j].span.line, before.functions[j].span.line + 2, after.functions[j].name);
    assert.deepEqual(after, await freshFacts(model, files, MMU, ws.text(MMU)!));
    ws.dispose();
  });

  it('equals indexing the whole tree after 150 random edits, in and out of functions, breaking and mending syntax; so do the analyses, which keep compiled programs across edits that change only positions', async () => {
    const files = readDir(exampleDir);
    const ws = await workspaceOf(files);
    const { model } = ws.analyze();
    // The same edits, each re-indexing the whole file. (Not a fresh parse: in broken text tree-sitter's incremental
    // and fresh parses may recover from errors differently, which is not what this tests.)
    const whole = await workspaceOf(files, { reindexEditedFunctionOnly: false });
    whole.facts(model);
    let seed = 777;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 8) % n;
    };
    const pieces = [
      '\t/* x */\n',
      '\n',
      'x',
      ';',
      '}',
      '{',
      '\tif (!kvm->arch.pgd)\n\t\treturn 0;\n',
      '\tspin_unlock(&kvm->mmu_lock);\n',
      'static int t = { .f = g };\n',
    ];
    let reused = 0;
    for (let i = 0; i < 150; i++) {
      const text = ws.text(MMU)!;
      // Mostly inside kvm_age_hva and its neighbours (where the shortcut applies), sometimes anywhere.
      const near = text.indexOf('int kvm_age_hva(');
      const from = rand(3) ? near - 2000 + rand(4000) : rand(text.length);
      const start = Math.max(0, Math.min(text.length, from));
      const end = rand(3) === 0 ? Math.min(text.length, start + rand(40)) : start;
      const change: TextChange = {
        start: positionAt(text, start),
        end: positionAt(text, end),
        text: rand(4) === 0 ? '' : pieces[rand(pieces.length)],
      };
      const old = factsOf(ws, model, MMU);
      ws.applyChanges(MMU, [change]);
      whole.applyChanges(MMU, [change]);
      const now = factsOf(ws, model, MMU);
      if (old.functions.length && now.functions[0] === old.functions[0]) reused++;
      assert.deepEqual(now, factsOf(whole, model, MMU), `edit ${i}: ${JSON.stringify(change)}`);
      // Analysed after every edit (so an edit that keeps the shape can keep programs), compared every fifth time with
      // the whole-file workspace, whose facts change shape with every edit (it compiles every program afresh).
      const analysis = ws.analyze();
      if (i % 5 === 0)
        assert.deepEqual(show(analysis), show(whole.analyze()), `analysis after edit ${i}: ${JSON.stringify(change)}`);
    }
    assert.ok(reused > 30, `the shortcut was taken ${reused} times`);
    const kept = ws.programStats();
    assert.ok(kept.hits > 0 && kept.misses > 0, `programs kept ${kept.hits} times, compiled ${kept.misses} times`);
    assert.equal(whole.programStats().hits, 0, 'a file indexed whole has a new shape every time');
    ws.dispose();
    whole.dispose();
  });
});
