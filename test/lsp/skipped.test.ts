// Files the server does not analyse, as the editor shows them: a generated file (by path or by its banner), a
// binary one and one over lockpath.maxFileSize each get exactly one information-level diagnostic saying why,
// whatever lockpath.showParseProblems says, and nothing of theirs reaches the analysis.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiagnosticSeverity } from 'vscode-languageserver-protocol/node';
import { exampleDir } from '../helpers';
import { findingIds, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';
const HOOK = 'int kvm_generated_hook(struct kvm *kvm)\n{\n\treturn stage2_pgd_none(*kvm->arch.pgd);\n}\n';
const BANNERED = 'virt/kvm/arm/tables.c';
const BY_PATH = 'include/generated/asm-offsets.h';

describe('skipped files in the editor', { timeout: 240_000 }, () => {
  let dir: string;
  let client: TestClient;
  let builtin: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lockpath-skipped-'));
    cpSync(exampleDir, dir, { recursive: true });
    mkdirSync(join(dir, 'include', 'generated'), { recursive: true });
    writeFileSync(join(dir, BY_PATH), HOOK);
    writeFileSync(
      join(dir, BANNERED),
      `/*\n * Automatically generated file; DO NOT EDIT.\n */\n${HOOK.replace('generated_hook', 'bannered_hook')}`,
    );
    client = new TestClient(dir, { settings: { maxFileSize: 200_000 } });
    await client.initialize();
    builtin = findingIds(await client.diagnosticsAt(client.open(MMU), 1, 120_000));
    assert.equal(builtin.length, 3);
  });

  after(async () => {
    await client?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const onlyNote = async (uri: string, version: number, why: RegExp, line = 0): Promise<void> => {
    const ds = await client.diagnosticsAt(uri, version, 120_000);
    assert.equal(ds.length, 1, JSON.stringify(ds));
    assert.equal(ds[0].severity, DiagnosticSeverity.Information);
    assert.equal(ds[0].source, 'lockpath');
    assert.match(ds[0].message, why);
    assert.deepEqual(ds[0].range.start, { line, character: 0 });
  };

  it("a file with a generator's banner gets one note, and its functions are not analysed", async () => {
    const uri = client.open(BANNERED);
    await onlyNote(uri, 1, /^skipped: generated file \(its leading comment says "Automatically generated"\)$/);
    for (const name of ['kvm_bannered_hook', 'kvm_generated_hook']) {
      assert.equal((await client.request<{ found: boolean }>('lockpath/explain', { name })).found, false, name);
    }
    assert.deepEqual(
      findingIds(client.diagnostics.get(client.uri(MMU))!.diagnostics),
      builtin,
      'the findings are as they were',
    );
  });

  it('a file under include/generated/ gets one note, also after an edit', async () => {
    const uri = client.open(BY_PATH);
    await onlyNote(uri, 1, /^skipped: generated file \(under include\/generated\/\)$/);
    const v = client.setText(uri, `${client.text(uri)}int another(void) { return 0; }\n`);
    await onlyNote(uri, v, /^skipped: generated file/);
  });

  it('a binary file (noted at its first NUL) and one over lockpath.maxFileSize get one note each too', async () => {
    await onlyNote(
      client.open('virt/kvm/arm/blob.c', 'int x;\n\0\x01\x02'),
      1,
      /^skipped: binary file \(NUL byte\)$/,
      1,
    );
    await onlyNote(
      client.open('virt/kvm/arm/huge.c', `/* ${'x'.repeat(200_001)} */\n`),
      1,
      /^skipped: \d+ characters is over the 200000 limit \(setting lockpath\.maxFileSize\)$/,
    );
  });
});
