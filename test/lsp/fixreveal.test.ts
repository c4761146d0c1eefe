// Quick fixes that edit far from the race, for a client that supports change annotations (VS Code): offered as
// they are (one keystroke) and again as "Preview: ...", whose edits outside the race's function are annotated
// needsConfirmation so the client shows them for review; the edits are the same and remove the race.
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { AnnotatedTextEdit, CodeAction, Diagnostic, TextDocumentEdit } from 'vscode-languageserver-protocol/node';
import { exampleDir } from '../helpers';
import { applyEdits, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';

describe('quick fixes away from the race can be previewed', { timeout: 180_000 }, () => {
  let client: TestClient;
  let mmu: string;
  let diags: Diagnostic[];

  before(async () => {
    client = new TestClient(exampleDir);
    // As VS Code initializes: versioned document changes and change annotations.
    await client.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(exampleDir).href,
      workspaceFolders: [{ uri: pathToFileURL(exampleDir).href, name: 'v4.12' }],
      capabilities: {
        workspace: {
          configuration: true,
          workspaceEdit: { documentChanges: true, changeAnnotationSupport: { groupsOnLabel: true } },
        },
        textDocument: {
          publishDiagnostics: { relatedInformation: true, versionSupport: true },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } } },
        },
      },
    });
    await client.conn.sendNotification('initialized', {});
    mmu = client.open(MMU);
    diags = await client.diagnosticsAt(mmu, 1, 120_000);
  });
  after(async () => {
    await client?.stop();
  });

  it('offers the far fix at once and as a preview whose far edits need confirmation', async () => {
    const d = diags.find((x) => x.code === 'unguarded-notifier-path')!;
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri: mmu },
      range: d.range,
      context: { diagnostics: [d] },
    });
    assert.ok(actions.length >= 2, JSON.stringify(actions.map((a) => a.title)));
    const first = actions[0];
    assert.match(first.title, /^Apply the 2 preferred fixes here/);
    assert.equal(first.isPreferred, true);
    assert.equal(first.edit!.changeAnnotations, undefined, 'the one-keystroke fix applies without a review');
    const preview = actions.find((a) => a.title === `Preview: ${first.title}`);
    assert.ok(preview, JSON.stringify(actions.map((a) => a.title)));
    assert.ok(
      actions.indexOf(preview) > actions.findIndex((a) => !a.title.startsWith('Preview: ') && a !== first),
      'previews come after the plain fixes',
    );
    assert.notEqual(preview.isPreferred, true);
    const annotations = preview.edit!.changeAnnotations ?? {};
    const ids = Object.keys(annotations);
    assert.equal(ids.length, 1, JSON.stringify(preview.edit));
    assert.equal(annotations[ids[0]].needsConfirmation, true);
    assert.match(
      annotations[ids[0]].label,
      /^lockpath: edits kvm_age_hva \(mmu\.c:\d+\), kvm_test_age_hva \(mmu\.c:\d+\), away from the race$/,
    );
    const annotated = (preview.edit!.documentChanges as TextDocumentEdit[]).flatMap(
      (dc) => dc.edits as AnnotatedTextEdit[],
    );
    assert.ok(annotated.length >= 2 && annotated.every((e) => e.annotationId === ids[0]), JSON.stringify(annotated));
    // The same edits either way; applied, they fix the race.
    const edits = (first.edit!.documentChanges as TextDocumentEdit[]).flatMap((dc) => dc.edits as AnnotatedTextEdit[]);
    assert.deepEqual(
      edits,
      annotated.map((e) => ({ range: e.range, newText: e.newText })),
    );
    const fixed = applyEdits(client.text(mmu), edits);
    client.setText(mmu, fixed);
    const after = await client.diagnosticsAt(mmu, client.version(mmu), 60_000);
    assert.ok(!after.some((x) => x.code === 'unguarded-notifier-path'), JSON.stringify(after));
  });
});
