// The assumption checkboxes: one boolean setting per named assumption of the built-in models (lockpath.assumption.
// <id>, with its description), merged by the server over the older object setting; and over stdio, a checkbox the
// client sends changes the findings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { builtinModels } from '../../server/src/analysis';
import { readSettings } from '../../server/src/lsp/settings';
import { exampleDir, repoRoot } from '../helpers';
import { TestClient } from './harness';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const props = pkg.contributes.configuration.properties as Record<
  string,
  { type: string; default: unknown; markdownDescription?: string; markdownDeprecationMessage?: string }
>;

describe('assumption settings', { timeout: 180_000 }, () => {
  it('the manifest has a checkbox, with its description, for every named assumption of the built-in models', () => {
    const ids = [...new Set(builtinModels.flatMap((m) => m.assumptions.map((a) => a.id)))];
    assert.ok(ids.length >= 5, ids.join());
    for (const id of ids) {
      const p = props[`lockpath.assumption.${id}`];
      assert.ok(p, `lockpath.assumption.${id}`);
      assert.equal(p.type, 'boolean');
      const model = builtinModels.flatMap((m) => m.assumptions).find((a) => a.id === id)!;
      assert.equal(p.default, model.enabled, `${id}: the default is the built-in value`);
      assert.ok((p.markdownDescription ?? '').length > 40, `${id} described`);
      assert.ok(
        pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes(`lockpath.assumption.${id}`),
        `${id} is not taken from an untrusted workspace`,
      );
    }
    // The object form stays readable but out of the Settings editor's way.
    assert.match(props['lockpath.assumptions'].markdownDeprecationMessage ?? '', /lockpath\.assumption\.\*/);
  });

  it('the server merges the checkboxes over the object, in either spelling', () => {
    assert.deepEqual(
      readSettings({ assumptions: { a: true, b: true }, assumption: { b: false, c: false } }).assumptions,
      { a: true, b: false, c: false },
    );
    assert.deepEqual(readSettings({ 'assumption.vcpu-thread-pins-mm': false }).assumptions, {
      'vcpu-thread-pins-mm': false,
    });
    assert.deepEqual(readSettings({ assumption: { x: 'no' } }).assumptions, {}, 'only booleans');
  });

  let client: TestClient | undefined;
  after(async () => {
    await client?.stop();
  });

  it('a checkbox switched off over stdio adds the findings that assumption ruled out', async () => {
    client = new TestClient(exampleDir, {
      settings: { assumption: { 'vcpu-thread-pins-mm': false, 'vm-ioctl-pins-mm': false } },
    });
    await client.initialize();
    const mmu = client.open('virt/kvm/arm/mmu.c');
    await client.diagnosticsAt(mmu, 1, 120_000);
    const idle = await client.waitFor('an idle status', () => client!.statuses.filter((s) => s.state === 'idle').pop());
    assert.ok(idle.findings > 3, `more than the built-in 3 findings: ${idle.findings}`);
    // The analysis log follows the snapshot (logs do not wake waitFor: poll).
    for (let waited = 0; !client.logs.some((l) => l.includes('\n  model: ')); waited += 50) {
      assert.ok(waited < 30_000, `no analysis log:\n${client.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('the output channel gets the model, scope, skipped files and timings of each analysis, not timelines', () => {
    const entry = client!.logs.find((l) => l.startsWith('lockpath: what analysis ') && l.includes('\n  model: '));
    assert.ok(entry, client!.logs.join('\n'));
    assert.match(
      entry,
      /\n {2}model: kvm-arm-v4 \(settings \(lockpath\.assumptions\); chosen: [^\n]*\); assumptions off: vcpu-thread-pins-mm, vm-ioctl-pins-mm\n/,
    );
    assert.match(entry, /\n {2}scope: 6 files \(6 indexed from .*v4\.12, 1 open\); include virt\/kvm\/\*\* /);
    assert.match(entry, /\n {2}left out \(too large, binary or generated\): none/);
    assert.match(entry, /\n {2}timings: analysis \d+ ms \(\d+ functions, \d+ chains, \d+ states/);
    assert.ok(!client!.logs.some((l) => /-{10}\+-{10}|\| exit_mmap/.test(l)), 'no ASCII timelines');
  });
});
