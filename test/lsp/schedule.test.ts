// The schedule through the real server: a lone edit is analysed once, a burst of edits sent together is answered
// for its last version only, and an edit that takes a guard away shows the race
// in the diagnostics of that very version (and putting it back clears it), equal to a fresh analysis each time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver-protocol/node';
import { loadParser, Workspace } from '../../server/src/analysis';
import { findingDiagnostics } from '../../server/src/lsp/diagnostics';
import { buildSnapshot } from '../../server/src/lsp/snapshot';
import { exampleDir, readDir } from '../helpers';
import { findingIds, openExample, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';
const GUARD = '\tif (!kvm->arch.pgd)\n\t\treturn 0;\n';

const shape = (ds: readonly Diagnostic[]): unknown[] =>
  ds.filter((d) => d.code).map((d) => ({ range: d.range, code: d.code, message: d.message, data: d.data }));

async function freshDiagnostics(mmuText: string, uriOf: (key: string) => string): Promise<Diagnostic[]> {
  const ws = new Workspace(await loadParser());
  try {
    for (const [k, v] of Object.entries(readDir(exampleDir))) ws.setFile(k, k === MMU ? mmuText : v);
    return findingDiagnostics({ snap: buildSnapshot(ws.analyze(), 0, {}, {}, () => []), uriOf }, MMU);
  } finally {
    ws.dispose();
  }
}

/** kvm_age_hva with the v4.13 guard at the top of its body. */
function withGuard(text: string): string {
  const head = text.indexOf('{\n', text.indexOf('int kvm_age_hva(')) + 2;
  return text.slice(0, head) + GUARD + text.slice(head);
}

describe('scheduling analyses', { timeout: 300_000 }, () => {
  let client: TestClient;
  let mmu: string;
  let original: string;
  const uriOf = (key: string): string => client.uri(key);

  before(async () => ({ client, mmu, original } = await openExample(MMU)));
  after(async () => client?.stop());

  it('an edit that removes a guard reports the race for that version, and putting it back clears it', async () => {
    const guarded = withGuard(original);
    const v1 = client.setText(mmu, guarded);
    const safe = await client.diagnosticsAt(mmu, v1, 120_000);
    assert.deepEqual(shape(safe), shape(await freshDiagnostics(guarded, uriOf)));
    const unguarded = original;
    const v2 = client.setText(mmu, unguarded);
    const racy = await client.diagnosticsAt(mmu, v2, 120_000);
    assert.deepEqual(shape(racy), shape(await freshDiagnostics(unguarded, uriOf)));
    assert.ok(
      findingIds(racy).length > findingIds(safe).length,
      `the guard's removal adds findings: ${findingIds(safe).length} -> ${findingIds(racy).length}`,
    );
    const v3 = client.setText(mmu, guarded);
    assert.deepEqual(shape(await client.diagnosticsAt(mmu, v3, 120_000)), shape(safe));
  });

  it('a burst of edits sent together is published for its last version only', async () => {
    const from = client.publications.length;
    let text = client.text(mmu);
    const line = text.split('\n').findIndex((l) => l.includes('trace_kvm_age_hva(start, end);'));
    assert.ok(line > 0);
    let last = 0;
    for (let i = 0; i < 20; i++) {
      const lines = text.split('\n');
      text = [...lines.slice(0, line), `\t/* burst ${i} */`, ...lines.slice(line)].join('\n');
      last = client.setText(mmu, text);
    }
    const final = await client.diagnosticsAt(mmu, last, 120_000);
    const versions = client.publications
      .slice(from)
      .filter((p) => p.uri === mmu)
      .map((p) => p.version);
    assert.deepEqual(versions, [last], 'nothing published for the versions in between');
    assert.deepEqual(shape(final), shape(await freshDiagnostics(text, uriOf)));
  });

  it('an edit undone right after its diagnostics: requests answer for the text as it is again', async () => {
    const lenses = async (): Promise<unknown[]> =>
      client.request<unknown[]>('textDocument/codeLens', { textDocument: { uri: mmu } });
    const before = await lenses();
    const text = client.text(mmu);
    const v1 = client.setText(mmu, `/* one line more */\n${text}`);
    await client.diagnosticsAt(mmu, v1, 120_000);
    // Undone before the edited text's snapshot was built: that snapshot, stale on arrival, must not be answered from.
    const v2 = client.setText(mmu, text);
    await client.diagnosticsAt(mmu, v2, 120_000);
    // Time for the edited text's snapshot to be built and arrive (SNAPSHOT_QUIET_MS, then a few ms).
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await lenses(), before, 'the lenses of the text as it is, not one line down');
  });

  it('each lone edit is analysed once, and published', async () => {
    const logsBefore = client.logs.length;
    for (let i = 0; i < 5; i++) {
      const v = client.setText(mmu, `${client.text(mmu)}\n/* tail ${i} */`);
      await client.diagnosticsAt(mmu, v, 120_000);
    }
    // An analysis is logged just after its diagnostics: any answer sent later comes after the last one's line.
    await client.request('textDocument/codeLens', { textDocument: { uri: mmu } });
    const analyses = client.logs.slice(logsBefore).filter((l) => /analysis #\d+/.test(l));
    assert.equal(analyses.length, 5, analyses.join('\n'));
    assert.ok(analyses.every((l) => !/not published/.test(l)));
  });
});
