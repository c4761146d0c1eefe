// Editing through the server: each quick fix, applied as the editor would and sent back as didChange, clears its
// finding and introduces none; an edit storm ends with exactly the diagnostics of a fresh analysis of the final
// text, and nothing published on the way is about a text other than the one of its version.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CodeAction, Diagnostic } from 'vscode-languageserver-protocol/node';
import { loadParser, Workspace } from '../../server/src/analysis';
import { findingDiagnostics } from '../../server/src/lsp/diagnostics';
import { buildSnapshot } from '../../server/src/lsp/snapshot';
import { exampleDir, readDir } from '../helpers';
import { applyEdits, editsFor, find, findingIds, openExample, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';

const shape = (ds: readonly Diagnostic[]): unknown[] =>
  ds
    .filter((d) => d.code)
    .map((d) => ({
      range: d.range,
      code: d.code,
      message: d.message,
      severity: d.severity,
      findings: (d.data as { findings: string[] }).findings,
    }));

/** What the server should publish for mmu.c, from a fresh in-process analysis of the tree with this mmu.c. */
async function freshDiagnostics(mmuText: string, uriOf: (key: string) => string): Promise<Diagnostic[]> {
  const ws = new Workspace(await loadParser());
  try {
    for (const [k, v] of Object.entries(readDir(exampleDir))) ws.setFile(k, k === MMU ? mmuText : v);
    const a = ws.analyze();
    const snap = buildSnapshot(a, 0, {}, {}, () => []);
    return findingDiagnostics({ snap, uriOf }, MMU);
  } finally {
    ws.dispose();
  }
}

describe('editing through the language server', { timeout: 600_000 }, () => {
  let client: TestClient;
  let mmu: string;
  let original: string;

  before(async () => ({ client, mmu, original } = await openExample(MMU)));
  after(async () => client?.stop());

  it('each quick fix clears its findings and introduces none', { timeout: 300_000 }, async (t) => {
    const before = await client.diagnosticsAt(mmu);
    const target = before.find((d) => d.code === 'unguarded-notifier-path');
    assert.ok(target);
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri: mmu },
      range: target.range,
      context: { diagnostics: [target], only: ['quickfix'] },
    });
    assert.ok(
      actions.length >= 2,
      `hook-level and walker-level fixes offered; got ${actions.map((a) => a.title).join(' / ')}`,
    );
    assert.equal(actions[0].isPreferred, true, 'the preferred fix comes first');
    assert.ok(
      actions.slice(1).every((a) => !a.isPreferred),
      'exactly one preferred action',
    );
    // Three findings from two hooks: the hook-level guards of both, as one action, then each fix alone.
    assert.match(actions[0].title, /kvm_age_hva/);
    assert.match(actions[0].title, /kvm_test_age_hva/);
    assert.equal(findingIds(actions[0].diagnostics!).length, 3);
    assert.ok(
      actions.some((a) => /stage2_get_pud/.test(a.title)),
      'the walker-level alternative is offered too',
    );
    const allBefore = findingIds(before);
    for (let i = 0; i < actions.length; i++) {
      // Edits are versioned: ask again for the text as it is now (after the previous fix was undone).
      const current: Diagnostic[] = await client.diagnosticsAt(mmu);
      const again: CodeAction[] = await client.request<CodeAction[]>('textDocument/codeAction', {
        textDocument: { uri: mmu },
        range: target.range,
        context: {
          diagnostics: current.filter((d: Diagnostic) => d.code === 'unguarded-notifier-path'),
          only: ['quickfix'],
        },
      });
      const action: CodeAction = again[i];
      assert.equal(action.title, actions[i].title, 'the same actions in the same order');
      assert.equal(action.kind, 'quickfix');
      assert.ok(action.diagnostics?.length, 'diagnostics attached');
      const fixed = (action.data as { findings: string[] }).findings;
      assert.ok(
        fixed.length && fixed.every((id) => findingIds(action.diagnostics!).includes(id)),
        'the findings it fixes are those of its diagnostics',
      );
      const edit = action.edit!;
      const uris = new Set([
        ...(edit.documentChanges ?? []).map((d) => ('textDocument' in d ? d.textDocument.uri : '')),
        ...Object.keys(edit.changes ?? {}),
      ]);
      assert.deepEqual([...uris], [mmu], `${action.title}: edits mmu.c only`);
      for (const dc of edit.documentChanges ?? [])
        if ('textDocument' in dc) assert.equal(dc.textDocument.version, client.version(mmu), 'versioned edit');
      const next = applyEdits(client.text(mmu), editsFor(edit, mmu));
      const v = client.setText(mmu, next);
      const after = findingIds(await client.diagnosticsAt(mmu, v, 120_000));
      t.diagnostic(`${action.title}: ${allBefore.length} -> ${after.length} findings`);
      for (const id of fixed) assert.ok(!after.includes(id), `${action.title} clears ${id}`);
      assert.ok(
        after.every((id) => allBefore.includes(id)),
        `${action.title} introduces no finding: ${after.filter((id) => !allBefore.includes(id)).join(', ')}`,
      );
      // Back to the original text for the next fix.
      const back = client.setText(mmu, original);
      assert.deepEqual(findingIds(await client.diagnosticsAt(mmu, back, 120_000)), allBefore);
    }
  });

  it('no quick fix is offered where there is no finding', async () => {
    const p = find(original, 'void kvm_set_spte_hva(');
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri: mmu },
      range: { start: p, end: p },
      context: { diagnostics: [] },
    });
    assert.deepEqual(actions, []);
  });

  it(
    'an edit storm ends with the diagnostics of a fresh analysis of the final text',
    { timeout: 300_000 },
    async (t) => {
      const start = client.publications.length;
      const texts = new Map<number, string>([[client.version(mmu), client.text(mmu)]]);
      // Random small edits inside kvm_age_hva's body.
      let seed = 12345;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const bodyStart = original.indexOf('{', original.indexOf('int kvm_age_hva(')) + 1;
      let text = original;
      let bodyEnd = text.indexOf('\n}\n', bodyStart);
      const alphabet = 'abcdefghijklmnopqrstuvwxyz_ ;(){}*->!\n\t0123456789';
      const started = Date.now();
      for (let i = 0; i < 200; i++) {
        const at = bodyStart + rand(Math.max(1, bodyEnd - bodyStart));
        if (rand(3) === 0 && bodyEnd - bodyStart > 10) {
          const len = 1 + rand(3);
          text = text.slice(0, at) + text.slice(Math.min(at + len, bodyEnd));
        } else {
          const ins = Array.from({ length: 1 + rand(4) }, () => alphabet[rand(alphabet.length)]).join('');
          text = text.slice(0, at) + ins + text.slice(at);
        }
        bodyEnd = text.indexOf('\n}\n', bodyStart);
        texts.set(client.setText(mmu, text), text);
        // Mostly keystroke speed, now and then a pause long enough for an analysis to start (and be overtaken).
        const pause = i === 100 ? 8000 : i % 40 === 39 ? 300 + rand(900) : rand(25);
        await new Promise((r) => setTimeout(r, pause));
      }
      // The final text: the original with the v4.13 guard in kvm_age_hva.
      const finalText = original.replace(
        /(int kvm_age_hva\([^)]*\)\n\{\n)/,
        '$1\tif (!kvm->arch.pgd)\n\t\treturn 0;\n',
      );
      assert.notEqual(finalText, original);
      const finalVersion = client.setText(mmu, finalText);
      const sentFinal = Date.now();
      texts.set(finalVersion, finalText);
      const published = await client.diagnosticsAt(mmu, finalVersion, 120_000);
      t.diagnostic(
        `storm of 201 changes over ${sentFinal - started} ms; final diagnostics ${Date.now() - sentFinal} ms after the last change`,
      );

      const uriOf = (key: string): string => client.uri(key);
      const expected = await freshDiagnostics(finalText, uriOf);
      assert.deepEqual(shape(published), shape(expected));
      assert.equal(expected.length, 1, 'kvm_test_age_hva still races after kvm_age_hva got its guard');

      // Everything published on the way: versions only go up, and each matches a fresh analysis of its own text.
      const during = client.publications.slice(start).filter((p) => p.uri === mmu);
      const versions = during.map((p) => p.version ?? -1);
      assert.deepEqual(
        versions,
        [...versions].sort((a, b) => a - b),
        `published versions in order: ${versions.join(',')}`,
      );
      t.diagnostic(
        `published during the storm: versions ${versions.join(', ')}; ${client.logs.filter((l) => /abandoning a stale analysis/.test(l)).length} stale analyses abandoned`,
      );
      for (const l of client.logs.filter((x) => /analysis #|abandoning/.test(x)).slice(-30)) t.diagnostic(l);
      for (const p of during.filter((x) => x.version !== finalVersion).slice(-3)) {
        const at = texts.get(p.version!);
        assert.ok(at !== undefined, `version ${p.version} was sent`);
        assert.deepEqual(
          shape(p.diagnostics),
          shape(await freshDiagnostics(at, uriOf)),
          `diagnostics published for version ${p.version} are those of its text`,
        );
      }
      // And back: the original findings return.
      const back = client.setText(mmu, original);
      assert.equal(findingIds(await client.diagnosticsAt(mmu, back, 120_000)).length, 3);
    },
  );

  it('reads nothing but the workspace folder, writes nothing', () => {
    const text = readFileSync(join(exampleDir, MMU), 'utf8');
    assert.equal(text, original, 'the file on disk is untouched');
  });
});
