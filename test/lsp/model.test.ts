// The model file and the settings through the server: a broken .lockpath.json gets diagnostics with line and column
// while the C diagnostics keep coming (built-in model), a valid one that drops assumptions changes the findings,
// closing it goes back to the built-in model; lockpath.assumptions and lockpath.showParseProblems apply live.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Diagnostic } from 'vscode-languageserver-protocol/node';
import { exampleDir } from '../helpers';
import { findingIds, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';
const MODEL = '.lockpath.json';

describe('model file and settings', { timeout: 300_000 }, () => {
  let client: TestClient;
  let mmu: string;
  let builtin: string[];

  /** The next publication for `uri` after `since` publications. */
  const next = (uri: string, since: number, pred: (d: Diagnostic[]) => boolean = () => true): Promise<Diagnostic[]> =>
    client.waitFor(
      `a new publication for ${uri}`,
      () =>
        client.publications
          .slice(since)
          .reverse()
          .find((p) => p.uri === uri && pred(p.diagnostics))?.diagnostics,
      120_000,
    );

  before(async () => {
    client = new TestClient(exampleDir);
    await client.initialize();
    mmu = client.open(MMU);
    builtin = findingIds(await client.diagnosticsAt(mmu, 1, 120_000));
    assert.equal(builtin.length, 3);
  });

  after(async () => {
    await client?.stop();
  });

  it('a broken model file gets a diagnostic with line and column, and C diagnostics keep coming', async () => {
    const since = client.publications.length;
    const broken = '{\n  "base": "kvm-arm-v4",\n  "assumptions": { "vcpu-thread-pins-mm": false,, }\n';
    const model = client.open(MODEL, broken, 'json');
    const ds = await next(model, since, (d) => d.length > 0);
    assert.ok(ds.every((d) => d.severity === 1 && d.source === 'lockpath'));
    const first = ds[0];
    assert.equal(first.range.start.line, 2, `line of the stray comma: ${JSON.stringify(ds)}`);
    assert.ok(first.range.start.character > 40, 'column of the stray comma');
    assert.equal(client.diagnostics.get(model)?.version, 1);
    // The C side goes on with the built-in model.
    const v = client.setText(mmu, `${client.text(mmu)}\n/* an edit after the model broke */\n`);
    assert.deepEqual(findingIds(await client.diagnosticsAt(mmu, v, 120_000)), builtin);
  });

  it('an unknown key is reported where it is', async () => {
    const model = client.uri(MODEL);
    const since = client.publications.length;
    const text = '{\n  "assumptions": {},\n  "bogus": 1\n}\n';
    client.setText(model, text);
    const ds = await next(model, since, (d) => d.some((x) => /unknown key "bogus"/.test(x.message)));
    const d = ds.find((x) => /bogus/.test(x.message))!;
    assert.deepEqual(d.range.start, { line: 2, character: 2 });
  });

  it('a valid model file that drops the mm assumptions adds the VCPU and VM ioctl races', async () => {
    const model = client.uri(MODEL);
    const since = client.publications.length;
    client.setText(model, '{\n  "assumptions": { "vcpu-thread-pins-mm": false, "vm-ioctl-pins-mm": false }\n}\n');
    await next(model, since, (d) => d.length === 0);
    const ds = await next(mmu, since, (d) => findingIds(d).length > builtin.length);
    assert.ok(
      ds.some((d) => d.code === 'may-be-freed'),
      ds.map((d) => d.code).join(','),
    );
    assert.ok(ds.some((d) => /VCPU thread/.test(d.message)));
    assert.ok(
      builtin.every((id) => findingIds(ds).includes(id)),
      'the notifier races stay',
    );
  });

  it('closing the model file goes back to the built-in model', async () => {
    const since = client.publications.length;
    client.close(client.uri(MODEL));
    const ds = await next(mmu, since, (d) => findingIds(d).length === builtin.length);
    assert.deepEqual(findingIds(ds), builtin);
  });

  it('lockpath.assumptions from the settings apply, and parse notes show on request', async () => {
    let since = client.publications.length;
    client.settings = { assumptions: { 'vcpu-thread-pins-mm': false }, showParseProblems: true };
    void client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { lockpath: client.settings } });
    let ds = await next(mmu, since, (d) => findingIds(d).length > builtin.length);
    assert.ok(ds.some((d) => /VCPU thread/.test(d.message)));
    assert.ok(!ds.some((d) => /VM ioctl/.test(d.message)), 'only the VCPU assumption was dropped');
    since = client.publications.length;
    client.settings = {};
    void client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { lockpath: client.settings } });
    ds = await next(mmu, since, (d) => findingIds(d).length === builtin.length);
    assert.deepEqual(findingIds(ds), builtin);
    assert.ok(!ds.some((d) => d.severity === 3), 'parse notes hidden again');
  });

  it('parse notes appear with lockpath.showParseProblems', async () => {
    const since = client.publications.length;
    client.settings = { showParseProblems: true };
    void client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { lockpath: client.settings } });
    const ds = await next(mmu, since, (d) => d.some((x) => x.severity === 3));
    assert.ok(ds.filter((d) => d.severity === 3).every((d) => !d.code && d.source === 'lockpath'));
    assert.deepEqual(findingIds(ds), builtin);
  });

  it('inlay hints switch off with lockpath.inlayHints.enabled', async () => {
    const range = { start: { line: 0, character: 0 }, end: { line: 2000, character: 0 } };
    assert.ok(
      (await client.request<unknown[]>('textDocument/inlayHint', { textDocument: { uri: mmu }, range })).length > 0,
    );
    client.settings = { inlayHints: { enabled: false } };
    await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { lockpath: client.settings } });
    // The server pulls the settings after the notification: poll until they apply (5 s at most).
    let hints: unknown[] = [1];
    for (let i = 0; i < 50 && hints.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      hints = await client.request<unknown[]>('textDocument/inlayHint', { textDocument: { uri: mmu }, range });
    }
    assert.deepEqual(hints, []);
  });
});
