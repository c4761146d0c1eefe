// Limited mode over stdio: a client that says the workspace is not trusted (initializationOptions.trusted =
// false) gets analysis of the files it opens and nothing else. The folder's .lockpath.json (which would add races)
// is not read, settings that widen what is read are not honoured, unopened files are not indexed, and the status
// says limited. The same folder in a trusted session does all of those: the contrast shows the test can fail.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { analyzeTexts, exampleDir } from '../helpers';
import { findingIds, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';
const ARM = 'virt/kvm/arm/arm.c';
/** Drops the mm assumptions: read, it adds VCPU and VM-ioctl races (test/lsp/model.test.ts). */
const MODEL = '{\n  "assumptions": { "vcpu-thread-pins-mm": false, "vm-ioctl-pins-mm": false }\n}\n';
/** Workspace settings that would widen what is read: every file, a model file of their choosing, no size limit. */
const WIDENING = { index: { include: ['**'], exclude: [] }, modelFile: 'evil.json', maxFileSize: 1e12 };

describe('untrusted workspace: limited mode', { timeout: 300_000 }, () => {
  let dir: string;
  let limited: TestClient;
  let trusted: TestClient | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lockpath-untrusted-'));
    cpSync(exampleDir, dir, { recursive: true });
    writeFileSync(join(dir, '.lockpath.json'), MODEL);
    writeFileSync(join(dir, 'evil.json'), MODEL);
    limited = new TestClient(dir, { settings: WIDENING });
    await limited.initialize({ initializationOptions: { trusted: false } });
  });

  after(async () => {
    await limited?.stop();
    await trusted?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('analyses an opened file alone, with the built-in model, and says it is in limited mode', async () => {
    const mmu = limited.open(MMU);
    const got = findingIds(await limited.diagnosticsAt(mmu, 1, 120_000));
    const alone = await analyzeTexts({ [MMU]: readFileSync(join(dir, MMU), 'utf8') });
    assert.deepEqual(
      got,
      alone.findings.map((f) => f.id).sort(),
      'the findings of mmu.c analysed alone with the built-in model',
    );
    assert.ok(got.length > 0);
    const idle = await limited.waitFor('an idle status', () => limited.statuses.findLast((s) => s.state === 'idle'));
    assert.equal(idle.files, 1, 'only the open file is in the analysis');
    assert.ok(
      limited.statuses.every((s) => (s as { limited?: boolean }).limited === true),
      JSON.stringify(limited.statuses),
    );
    assert.equal(
      limited.logs.filter((l) => /limited mode \(the workspace is not trusted\)/.test(l)).length,
      1,
      limited.logs.join('\n'),
    );
  });

  it('does not index unopened files', async () => {
    const r = await limited.request<{ found: boolean }>('lockpath/explain', { name: 'kvm_mmu_notifier_clear_young' });
    assert.equal(r.found, false, 'kvm_main.c was not read');
    assert.ok(!limited.logs.some((l) => /skipped/.test(l)), 'the folder was not even listed');
  });

  it('ignores the model file, also when it is opened and broken, and analyses a second opened file', async () => {
    const model = limited.open('.lockpath.json', '{ "assumptions": { "vcpu-thread-pins-mm": false,, }', 'json');
    limited.open(ARM); // no finding of its own: it shows in the analysis's file count
    await limited.waitFor(
      'an idle status over 2 files',
      () => limited.statuses.findLast((s) => s.state === 'idle' && s.files === 2),
      120_000,
    );
    assert.equal(limited.publications.filter((p) => p.uri === model).length, 0, 'nothing published on the model file');
    assert.ok(findingIds(limited.diagnostics.get(limited.uri(MMU))!.diagnostics).every((id) => id.startsWith('LP')));
    assert.ok(
      !limited.publications.some((p) => p.diagnostics.some((d) => d.code === 'may-be-freed')),
      "no race that needs the model file's assumptions",
    );
  });

  it('the same folder, trusted, indexes it and applies its model file (the contrast)', async () => {
    trusted = new TestClient(dir);
    await trusted.initialize();
    const mmu = trusted.open(MMU);
    const ds = await trusted.diagnosticsAt(mmu, 1, 120_000);
    assert.ok(
      ds.some((d) => d.code === 'may-be-freed'),
      "the model file's dropped assumptions add races",
    );
    const idle = await trusted.waitFor('an idle status', () => trusted!.statuses.findLast((s) => s.state === 'idle'));
    assert.equal(idle.files, 6);
    assert.ok(trusted.statuses.every((s) => !(s as { limited?: boolean }).limited));
    assert.equal(
      (await trusted.request<{ found: boolean }>('lockpath/explain', { name: 'kvm_mmu_notifier_clear_young' })).found,
      true,
    );
  });
});
