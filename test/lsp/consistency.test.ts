// The status bar, Problems, code lenses and hovers say the same thing about the races of the bundled example: the
// same count (one race per diagnostic, its findings the entries), the same words for what goes wrong, and hovers
// that lead with the races and stay under 2 KB before the link to the full explanation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CodeLens, Diagnostic, Hover } from 'vscode-languageserver-protocol/node';
import { exampleDir } from '../helpers';
import { find, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';

describe('one wording for races in status, Problems, lenses and hovers', { timeout: 180_000 }, () => {
  let client: TestClient;
  let mmu: string;
  let text: string;
  let diags: Diagnostic[];

  before(async () => {
    client = new TestClient(exampleDir);
    await client.initialize();
    mmu = client.open(MMU);
    text = client.text(mmu);
    diags = await client.diagnosticsAt(mmu, 1, 120_000);
    await client.waitFor('an idle status', () => client.statuses.some((s) => s.state === 'idle'));
  });
  after(async () => {
    await client?.stop();
  });

  it('the status counts races as Problems shows them, and entries as the diagnostics name them', () => {
    const races = diags.filter((d) => d.source === 'lockpath' && d.code);
    const entries = races.reduce((n, d) => n + (d.data as { findings: string[] }).findings.length, 0);
    const idle = client.statuses.filter((s) => s.state === 'idle').pop() as unknown as {
      summary: string;
      findings: number;
    };
    assert.equal(races.length, 1);
    assert.equal(entries, 3);
    assert.equal(idle.summary, `${races.length} race (${entries} entries)`);
    assert.equal(idle.findings, entries);
    assert.match(races[0].message, /reached from 3 entries/);
  });

  it('lenses, hovers and the diagnostic word the hazard alike', async () => {
    const d = diags.find((x) => x.code === 'unguarded-notifier-path')!;
    const words = /^(.*?) here:/.exec(d.message)![1];
    assert.equal(words, 'kvm->arch.pgd may be NULL');
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: mmu } });
    const raceLenses = lenses.map((l) => l.command!.title).filter((t) => / · race: /.test(t));
    assert.ok(raceLenses.length >= 3, raceLenses.join('\n'));
    for (const t of raceLenses) assert.match(t, new RegExp(`· race: ${esc(words)} · 1 race( \\(\\d entries\\))?$`), t);
    const onDeref = await hoverText(d.range.start);
    assert.ok(onDeref.startsWith(`**lockpath: ${words} · 1 race (3 entries)**`), onDeref.slice(0, 200));
    const onWalker = await hoverText(at('static pud_t *stage2_get_pud(', 15));
    assert.match(onWalker.split('\n')[0], new RegExp(`\\*\\*${esc(words)} · 1 race \\(3 entries\\)\\*\\*`));
  });

  it('every hover on the example leads with its races and is under 2 KB before the link', async () => {
    const names = [...new Set([...text.matchAll(/^[a-z].*?\b(\w+)\(/gm)].map((m) => m[1]))];
    let checked = 0;
    let withRaces = 0;
    for (const name of names) {
      const p = find(text, `${name}(`);
      const md = await hoverText({ line: p.line, character: p.character + 1 });
      if (!md) continue;
      checked++;
      const link = md.indexOf('](command:lockpath.explain');
      assert.ok(link > 0, `${name}: a link to the full explanation`);
      assert.ok(
        Buffer.byteLength(md.slice(0, link)) < 2048,
        `${name}: ${Buffer.byteLength(md.slice(0, link))} bytes before the link`,
      );
      assert.ok(Buffer.byteLength(md) < 3072, `${name}: ${Buffer.byteLength(md)} bytes in all`);
      const race = md.indexOf('- race at ');
      const safe = md.search(/· safe: /);
      if (race >= 0) {
        withRaces++;
        assert.ok(safe < 0 || race < safe, `${name}: races first`);
        assert.match(
          md.split('\n')[0],
          /· \*\*kvm->arch\.pgd may be NULL · 1 race/,
          `${name}: the count in the first line`,
        );
      }
    }
    assert.ok(checked >= 15, `hovers on ${checked} functions`);
    assert.ok(withRaces >= 5, `${withRaces} of them with races`);
  });

  async function hoverText(position: { line: number; character: number }): Promise<string> {
    const h = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri: mmu }, position });
    return h ? (h.contents as { value: string }).value : '';
  }

  function at(needle: string, offset: number): { line: number; character: number } {
    const p = find(text, needle);
    return { line: p.line, character: p.character + offset };
  }
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
