// textDocument/references on the modelled resource, over stdio on the bundled v4.12 example: asked on `pgd` in
// `kvm->arch.pgd`, the server lists every read, dereference, test, write and free of the root in the indexed
// tree (files not open included), and the hover on the field sums them up by context and lock held.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Hover, Location } from 'vscode-languageserver-protocol/node';
import { exampleDir } from '../helpers';
import { find, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';
const ARM = 'virt/kvm/arm/arm.c';

describe('references to kvm->arch.pgd', { timeout: 180_000 }, () => {
  let client: TestClient;
  let mmu: string;
  let text: string;

  before(async () => {
    client = new TestClient(exampleDir);
    const init = (await client.initialize()) as { capabilities: { referencesProvider?: boolean } };
    assert.equal(init.capabilities.referencesProvider, true);
    mmu = client.open(MMU);
    text = client.text(mmu);
    await client.diagnosticsAt(mmu, 1, 120_000);
  });
  after(async () => {
    await client?.stop();
  });

  /** The source line at a location, read from disk (the files need not be open). */
  const lineAt = (l: Location): string => readFileSync(new URL(l.uri), 'utf8').split('\n')[l.range.start.line];
  const fileOf = (l: Location): string => l.uri.slice(l.uri.indexOf('/v4.12/') + '/v4.12/'.length);

  /** The position of `pgd` inside the first `kvm->arch.pgd` after `anchor`. */
  function pgdAfter(anchor: string): { line: number; character: number } {
    const at = text.indexOf('kvm->arch.pgd', text.indexOf(anchor));
    const before = text.slice(0, at + 'kvm->arch.'.length + 1);
    return { line: before.split('\n').length - 1, character: before.length - before.lastIndexOf('\n') - 1 };
  }

  it('lists every kind of access, across files, from an access in stage2_get_pud', async () => {
    const refs = await client.request<Location[]>('textDocument/references', {
      textDocument: { uri: mmu },
      position: pgdAfter('static pud_t *stage2_get_pud('),
      context: { includeDeclaration: true },
    });
    assert.ok(Array.isArray(refs) && refs.length >= 10, `many accesses: ${JSON.stringify(refs)}`);
    const lines = refs.map((l) => `${fileOf(l)}:${l.range.start.line + 1}: ${lineAt(l).trim()}`);
    const has = (what: string, re: RegExp): void =>
      assert.ok(
        lines.some((l) => re.test(l)),
        `${what} among:\n${lines.join('\n')}`,
      );
    has('the write that clears it', /mmu\.c:\d+: kvm->arch\.pgd = NULL;/);
    has('the write that sets it', /mmu\.c:\d+: kvm->arch\.pgd = pgd;/);
    has('a test of it', /mmu\.c:\d+: .*if \(!?(READ_ONCE\()?kvm->arch\.pgd/);
    has('the read the race dereferences', /mmu\.c:\d+: pgd = kvm->arch\.pgd \+ stage2_pgd_index\(addr\);/);
    has('a use in arm.c (not open)', /^virt\/kvm\/arm\/arm\.c:\d+: .*kvm->arch\.pgd/);
    assert.ok(
      refs.some((l) => fileOf(l) === ARM),
      'another file',
    );
    // The free: kvm_free_stage2_pgd frees the tables it read from the field.
    const free = find(text, 'void kvm_free_stage2_pgd(').line;
    assert.ok(
      refs.some(
        (l) =>
          fileOf(l) === MMU &&
          l.range.start.line > free &&
          l.range.start.line < free + 20 &&
          /free|pgd/.test(lineAt(l)),
      ),
      'accesses in kvm_free_stage2_pgd',
    );
    has('the free of the tables', /mmu\.c:\d+: free_pages_exact\(pgd, S2_PGD_SIZE\);/);
    has('a dereference of the tables', /mmu\.c:\d+: if \(!WARN_ON\(stage2_pgd_none\(\*pgd\)\)\)/);
    // Each once, in file and line order.
    const keys = refs.map((l) => `${l.uri}:${l.range.start.line}:${l.range.start.character}`);
    assert.equal(new Set(keys).size, keys.length, 'no duplicates');
  });

  it('answers the same from any access, and nothing on a local named pgd or elsewhere', async () => {
    const a = await client.request<Location[]>('textDocument/references', {
      textDocument: { uri: mmu },
      position: pgdAfter('void kvm_free_stage2_pgd('),
      context: { includeDeclaration: false },
    });
    const b = await client.request<Location[]>('textDocument/references', {
      textDocument: { uri: mmu },
      position: pgdAfter('static pud_t *stage2_get_pud('),
      context: { includeDeclaration: false },
    });
    assert.deepEqual(a, b);
    // `pgd_t *pgd;`, a local inside a function, is not the field.
    const local = find(text, '\tpgd_t *pgd;');
    assert.equal(
      await client.request('textDocument/references', {
        textDocument: { uri: mmu },
        position: { line: local.line, character: local.character + 8 },
        context: { includeDeclaration: true },
      }),
      null,
    );
    const fn = find(text, 'int kvm_age_hva(');
    assert.equal(
      await client.request('textDocument/references', {
        textDocument: { uri: mmu },
        position: { line: fn.line, character: fn.character + 5 },
        context: { includeDeclaration: true },
      }),
      null,
    );
  });

  it('finds the uses from the field in its struct definition (a header opened in the editor)', async () => {
    const header = 'arch/arm64/include/asm/kvm_host.h';
    const body = 'struct kvm_arch {\n\tu64    vmid_gen;\n\tpgd_t *pgd;\n\tu64    vttbr;\n};\n';
    const uri = client.open(header, body);
    // The header has nothing to report: wait for the analysis that read it (its log names the open files).
    for (let waited = 0; !client.logs.some((l) => /scope: .*, 2 open\)/.test(l)); waited += 100) {
      assert.ok(waited < 60_000, `no analysis with the header open:\n${client.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const refs = await client.request<Location[]>('textDocument/references', {
      textDocument: { uri },
      position: { line: 2, character: 9 },
      context: { includeDeclaration: true },
    });
    assert.ok(refs.length >= 10, JSON.stringify(refs));
    assert.deepEqual(
      refs[0],
      { uri, range: { start: { line: 2, character: 8 }, end: { line: 2, character: 11 } } },
      'the declaration first',
    );
    assert.ok(refs.slice(1).every((l) => l.uri !== uri));
    // And the hover there sums the uses up by context and lock.
    const h = await client.request<Hover>('textDocument/hover', {
      textDocument: { uri },
      position: { line: 2, character: 9 },
    });
    const md = (h.contents as { value: string }).value;
    assert.match(md, /^\*\*kvm->arch\.pgd\*\*: \d+ accesses in \d+ functions/);
    assert.match(md, /- mmu notifier: [^\n]*dereferences? \(kvm->mmu\\?_lock\)/);
    assert.match(md, /- teardown: [^\n]*writes? \(kvm->mmu\\?_lock\)/);
    assert.ok(md.length < 2048, `short: ${md.length}`);
    client.close(uri);
  });

  it('the hover on an access says what it is and sums up the others', async () => {
    const h = await client.request<Hover>('textDocument/hover', {
      textDocument: { uri: mmu },
      position: pgdAfter('static pud_t *stage2_get_pud('),
    });
    const md = (h.contents as { value: string }).value;
    assert.match(md, /^\*\*read of kvm->arch\.pgd\*\* in stage2_get_pud; locks this function holds here: /);
    assert.match(md, /\*\*kvm->arch\.pgd\*\*: \d+ accesses in \d+ functions/);
  });
});
