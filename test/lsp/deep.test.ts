// Failure stays local in the editor: functions nested 10 000 deep (braces, ifs) typed into an open file are each
// reported at their name; the file's races and the rest of its diagnostics stay as they were.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DiagnosticSeverity } from 'vscode-languageserver-protocol/node';
import { findingIds, openExample, type TestClient } from './harness';

describe('deeply nested functions in the editor', { timeout: 240_000 }, () => {
  let client: TestClient;
  let mmu: string;
  let original: string;

  before(async () => {
    ({ client, mmu, original } = await openExample('virt/kvm/arm/mmu.c'));
  });

  after(async () => {
    await client?.stop();
  });

  it("10 000 nested braces and 10 000 nested ifs: one warning each at the function's name, the races kept", async () => {
    const before = findingIds(client.diagnostics.get(mmu)!.diagnostics);
    assert.equal(before.length, 3);
    const lines = original.split('\n').length - 1;
    const braces = `void deep_braces(struct kvm *kvm)\n{\n${'{'.repeat(10_000)}stage2_get_pud(kvm, 0);${'}'.repeat(10_000)}\n}\n`;
    const ifs = `void deep_ifs(struct kvm *kvm, int a)\n{\n${'if (a) {\n'.repeat(10_000)}\t*kvm->arch.pgd;\n${'}\n'.repeat(10_000)}}\n`;
    const v = client.setText(mmu, `${original}${braces}${ifs}`);
    const ds = await client.diagnosticsAt(mmu, v, 120_000);
    assert.deepEqual(findingIds(ds), before);
    const deep = ds.filter((d) => /nests/.test(d.message)).map((d) => [d.severity, d.range.start, d.message]);
    assert.deepEqual(deep, [
      [
        DiagnosticSeverity.Warning,
        { line: lines, character: 5 },
        'function deep_braces nests 10005 levels deep (limit 256): not analysed',
      ],
      [
        DiagnosticSeverity.Warning,
        { line: lines + 4, character: 5 },
        'function deep_ifs nests 20006 levels deep (limit 256): not analysed',
      ],
    ]);
    assert.ok(
      !ds.some((d) => /internal error/.test(d.message)),
      JSON.stringify(ds.filter((d) => /internal/.test(d.message))),
    );
  });
});
