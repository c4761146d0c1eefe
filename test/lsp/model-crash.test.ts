// A model file the loader cannot digest must not take the server down (it used to: a .lockpath.json nested
// 100 000 deep overflowed the stack at start, and VS Code gave up after five restarts). The server reports it on
// the file, at a position, keeps the built-in model and keeps serving, whether the file is on disk at start or
// typed into the editor later; fixing the file clears the report.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver-protocol/node';
import { exampleDir } from '../helpers';
import { find, findingIds, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';
const MODEL = '.lockpath.json';
const DEPTH = 100_000;
const deep = (open: string, close: string): string =>
  `{ "assumptions": ${open.repeat(DEPTH)}${close.repeat(DEPTH)} }\n`;

describe('a model file the loader cannot read', { timeout: 300_000 }, () => {
  let dir: string;
  let client: TestClient;
  let mmu: string;

  const modelDiagnostics = (pred: (ds: Diagnostic[]) => boolean, since = 0): Promise<Diagnostic[]> =>
    client.waitFor(
      'diagnostics on the model file',
      () =>
        client.publications
          .slice(since)
          .reverse()
          .find((p) => p.uri === client.uri(MODEL) && pred(p.diagnostics))?.diagnostics,
      120_000,
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lockpath-deep-model-'));
    cpSync(exampleDir, dir, { recursive: true });
    writeFileSync(join(dir, MODEL), deep('[', ']'));
    client = new TestClient(dir);
    await client.initialize();
    mmu = client.open(MMU);
  });

  after(async () => {
    await client?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('on disk at start: an error on the file at its start, the built-in model, and the server answers', async () => {
    const ds = await modelDiagnostics((d) => d.length > 0);
    assert.equal(ds.length, 1, JSON.stringify(ds));
    assert.equal(ds[0].severity, 1);
    // The loader's bounds refuse it where it crosses the nesting limit, before any parse.
    assert.equal(ds[0].range.start.line, 0);
    assert.match(ds[0].message, /model file: (cannot be read|nested more than 32 levels deep)/);
    // The built-in model's three notifier races, as without a model file.
    assert.equal(findingIds(await client.diagnosticsAt(mmu, 1, 120_000)).length, 3);
    const hover = await client.request<{ contents: unknown } | null>('textDocument/hover', {
      textDocument: { uri: mmu },
      position: find(client.text(mmu), 'kvm_age_hva('),
    });
    assert.ok(hover?.contents, 'a hover answers');
    assert.equal(client.proc.exitCode, null, `the server is alive\n${client.stderr.slice(-2000)}`);
  });

  it('typed into the editor: reported for that version; fixed: cleared, and the file applies', async () => {
    const since = client.publications.length;
    const model = client.open(MODEL, deep('{ "a": ', '}'), 'json');
    const ds = await modelDiagnostics((d) => d.length > 0, since);
    assert.match(ds[0].message, /model file: (cannot be read|nested more than 32 levels deep)/);
    assert.equal(client.diagnostics.get(model)?.version, 1);
    // Still serving C: an edit gets its diagnostics, with the built-in model.
    const v = client.setText(mmu, `${client.text(mmu)}\n/* after the deep model */\n`);
    assert.equal(findingIds(await client.diagnosticsAt(mmu, v, 120_000)).length, 3);
    const fixed = client.publications.length;
    client.change(
      model,
      { text: '{ "assumptions": { "vcpu-thread-pins-mm": false } }\n' },
      '{ "assumptions": { "vcpu-thread-pins-mm": false } }\n',
    );
    await modelDiagnostics((d) => d.length === 0, fixed);
    // The fixed file is in force: dropping the assumption adds the VCPU thread races.
    await client.waitFor(
      'the fixed model applied',
      () => findingIds(client.diagnostics.get(mmu)?.diagnostics ?? []).length > 3,
      120_000,
    );
    assert.equal(client.proc.exitCode, null);
  });
});
