// The language server end to end over stdio on the bundled v4.12 example: diagnostics with their chains, hover,
// code lenses, call hierarchy, inlay hints, progress and status, the custom requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type {
  CallHierarchyIncomingCall,
  CallHierarchyItem,
  CallHierarchyOutgoingCall,
  CodeLens,
  Diagnostic,
  Hover,
  InlayHint,
} from 'vscode-languageserver-protocol/node';
import { exampleDir } from '../helpers';
import { find, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';
const MAIN = 'virt/kvm/kvm_main.c';

describe('lockpath language server on examples/v4.12', { timeout: 180_000 }, () => {
  let client: TestClient;
  let mmu: string;
  let mmuText: string;
  let diags: Diagnostic[];

  before(async () => {
    client = new TestClient(exampleDir);
    const init = (await client.initialize()) as { capabilities: Record<string, unknown> };
    assert.ok(init.capabilities.hoverProvider);
    mmu = client.open(MMU);
    mmuText = client.text(mmu);
    diags = await client.diagnosticsAt(mmu, 1, 120_000);
  });

  after(async () => {
    await client?.stop();
  });

  it('publishes the stage2_get_pud races of kvm_age_hva and kvm_test_age_hva, with their chains and free side', () => {
    const races = diags.filter((d) => d.code === 'unguarded-notifier-path');
    assert.equal(
      races.length,
      1,
      `one grouped diagnostic at the dereference; got ${JSON.stringify(diags.map((d) => [d.code, d.range.start]))}`,
    );
    const d = races[0];
    assert.equal(d.source, 'lockpath');
    assert.equal(d.severity, 1);
    const line = mmuText.split('\n')[d.range.start.line];
    assert.match(line, /\*pgd/, 'the diagnostic sits on the dereference of the pgd read from kvm->arch.pgd');
    assert.ok(
      mmuText
        .split('\n')
        .slice(0, d.range.start.line)
        .reverse()
        .find((l) => /^\S.*\(/.test(l))
        ?.includes('stage2_get_pud'),
      'inside stage2_get_pud',
    );
    assert.match(d.message, /kvm_age_hva/);
    assert.match(d.message, /kvm_test_age_hva/);
    assert.equal((d.data as { findings: string[] }).findings.length, 3);
    const related = d.relatedInformation ?? [];
    const texts = related.map((r) => r.message);
    assert.ok(
      texts.some((t) => /kvm_age_hva calls handle_hva_to_gpa/.test(t)),
      texts.join('\n'),
    );
    assert.ok(
      texts.some((t) => /kvm_test_age_hva calls handle_hva_to_gpa/.test(t)),
      texts.join('\n'),
    );
    assert.ok(
      texts.some((t) => /handle_hva_to_gpa calls kvm_age_hva_handler \(param handler\)/.test(t)),
      texts.join('\n'),
    );
    assert.ok(
      texts.some((t) => /stage2_get_pmd calls stage2_get_pud/.test(t)),
      texts.join('\n'),
    );
    const free = related.filter((r) => /free side: .*kvm_free_stage2_pgd/.test(r.message));
    assert.ok(free.length, `free side listed: ${texts.join('\n')}`);
    assert.ok(free.every((r) => r.location.uri === mmu));
    assert.ok(
      related.some((r) => r.location.uri === client.uri(MAIN)),
      'hops in kvm_main.c point there',
    );
    // Parse notes stay hidden by default.
    assert.ok(!diags.some((x) => x.severity === 3), 'no parse notes by default');
  });

  it('hover on kvm_set_spte_hva gives its safe verdict in a line and a link to the full explanation', async () => {
    const h = await client.request<Hover>('textDocument/hover', {
      textDocument: { uri: mmu },
      position: shift(find(mmuText, 'void kvm_set_spte_hva('), 6),
    });
    const md = (h.contents as { value: string }).value;
    assert.match(md, /^\*\*kvm_set_spte_hva\*\*: 1 stage-2 chain · no races/);
    assert.match(md, /- mmu notifier · safe: checked in kvm_set_spte_hva/);
    assert.match(md, /\[Explain kvm_set_spte_hva\]\(command:lockpath\.explain\?/);
  });

  it('hover on kvm_age_hva leads with its race and names the entries', async () => {
    const h = await client.request<Hover>('textDocument/hover', {
      textDocument: { uri: mmu },
      position: shift(find(mmuText, 'int kvm_age_hva('), 5),
    });
    const md = (h.contents as { value: string }).value;
    assert.match(
      md,
      /^\*\*kvm_age_hva\*\*: \d+ stage-2 chains · \*\*kvm->arch\.pgd may be NULL · 1 race \(2 entries\)\*\*/,
    );
    assert.match(
      md,
      /- race at \[mmu\.c:411\]\([^)]*#L411\) in stage2_get_pud `unguarded-notifier-path`: kvm_age_hva \(clear_flush_young\), kvm_age_hva \(clear_young\)/,
    );
    assert.match(md, /Show race timeline\]\(command:lockpath\.showRaceTimeline\?/);
  });

  it('hover on the dereference says the race there as Problems does', async () => {
    const d = diags.find((x) => x.code === 'unguarded-notifier-path')!;
    const h = await client.request<Hover>('textDocument/hover', {
      textDocument: { uri: mmu },
      position: d.range.start,
    });
    const md = (h.contents as { value: string }).value;
    assert.match(md, /^\*\*lockpath: kvm->arch\.pgd may be NULL · 1 race \(3 entries\)\*\*/);
    assert.ok(d.message.startsWith('kvm->arch.pgd may be NULL here'), d.message);
    assert.match(md, /free side: exit_mmap: kvm_free_stage2_pgd: sets kvm->arch\.pgd = NULL \(\[mmu\.c:390\]/);
    assert.match(
      md,
      /- fix: Check kvm->arch\.pgd in kvm_age_hva[^\n]*\n- fix: Check kvm->arch\.pgd in kvm_test_age_hva/,
    );
  });

  it('code lenses above kvm_age_hva say "mmu notifier" and open the race timeline', async () => {
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: mmu } });
    const line = find(mmuText, 'int kvm_age_hva(').line;
    const here = lenses.filter((l) => l.range.start.line === line);
    assert.ok(here.length, `a lens on line ${line}; lenses on ${lenses.map((l) => l.range.start.line).join(',')}`);
    const title = here.map((l) => l.command?.title).join(' | ');
    assert.match(title, /mmu notifier · race: kvm->arch\.pgd may be NULL · 1 race \(2 entries\)/);
    assert.equal(here[0].command?.command, 'lockpath.showRaceTimeline');
    const safe = lenses
      .filter((l) => l.range.start.line === find(mmuText, 'void kvm_set_spte_hva(').line)
      .map((l) => l.command?.title);
    assert.deepEqual(safe, ['mmu notifier · safe: checked in kvm_set_spte_hva']);
    const abort = lenses
      .filter((l) => l.range.start.line === find(mmuText, 'static int user_mem_abort(').line)
      .map((l) => l.command?.title);
    assert.deepEqual(abort, ['VCPU thread · safe: vcpu fd + mm pinned']);
    assert.equal(
      lenses.find((l) => l.range.start.line === find(mmuText, 'static int user_mem_abort(').line)?.command?.command,
      'lockpath.showChains',
    );
  });

  it('call hierarchy answers for kvm_age_hva, incoming and outgoing, with contexts in the detail', async () => {
    const items = await client.request<CallHierarchyItem[]>('textDocument/prepareCallHierarchy', {
      textDocument: { uri: mmu },
      position: shift(find(mmuText, 'int kvm_age_hva('), 6),
    });
    assert.equal(items.length, 1);
    assert.equal(items[0].name, 'kvm_age_hva');
    assert.equal(items[0].detail, 'mmu notifier');
    const incoming = await client.request<CallHierarchyIncomingCall[]>('callHierarchy/incomingCalls', {
      item: items[0],
    });
    assert.deepEqual(incoming.map((c) => c.from.name).sort(), [
      'kvm_mmu_notifier_clear_flush_young',
      'kvm_mmu_notifier_clear_young',
    ]);
    assert.ok(incoming.every((c) => c.from.uri === client.uri(MAIN) && c.fromRanges.length === 1));
    const outgoing = await client.request<CallHierarchyOutgoingCall[]>('callHierarchy/outgoingCalls', {
      item: items[0],
    });
    assert.ok(
      outgoing.some((c) => c.to.name === 'handle_hva_to_gpa'),
      outgoing.map((c) => c.to.name).join(','),
    );
  });

  it('inlay hints at call sites on chains show context and locks', async () => {
    const hints = await client.request<InlayHint[]>('textDocument/inlayHint', {
      textDocument: { uri: mmu },
      range: { start: { line: 0, character: 0 }, end: { line: mmuText.split('\n').length, character: 0 } },
    });
    assert.ok(hints.length > 5);
    const ageCall = find(mmuText, 'handle_hva_to_gpa(kvm, start, end, kvm_age_hva_handler');
    const h = hints.find((x) => x.position.line === ageCall.line);
    assert.ok(h, `a hint on the kvm_age_hva -> handle_hva_to_gpa call (line ${ageCall.line})`);
    assert.equal(h.label, 'mmu notifier · kvm->mmu_lock');
  });

  it('answers lockpath/chains, lockpath/explain and lockpath/raceTimeline', async () => {
    const chains = await client.request<{ chains: { verdict: string; contextLabel: string; locations: unknown[] }[] }>(
      'lockpath/chains',
      { name: 'kvm_age_hva' },
    );
    assert.equal(chains.chains.length, 2);
    assert.ok(
      chains.chains.every((c) => c.verdict === 'race' && c.contextLabel === 'mmu notifier' && c.locations.length === 6),
    );
    const explain = await client.request<{ found: boolean; markdown: string }>('lockpath/explain', {
      name: 'stage2_get_pud',
    });
    assert.ok(explain.found);
    assert.match(explain.markdown, /9 chains pass through it/);
    const id = (diags.find((x) => x.code === 'unguarded-notifier-path')!.data as { findings: string[] }).findings[0];
    const t = await client.request<{ found: boolean; text: string; steps: unknown[] }>('lockpath/raceTimeline', { id });
    assert.ok(t.found);
    assert.match(t.text, /exit_mmap: kvm_free_stage2_pgd/);
    assert.ok(t.steps.length > 3);
  });

  it('reported indexing progress and status', () => {
    const kinds = client.progress.map((p) => (p as { value: { kind: string } }).value.kind);
    assert.equal(kinds[0], 'begin');
    assert.ok(kinds.includes('end'));
    const last = client.statuses[client.statuses.length - 1];
    assert.equal(last.state, 'idle');
    assert.equal(last.findings, 3);
    assert.equal(last.files, 6);
  });
});

function shift(p: { line: number; character: number }, by: number): { line: number; character: number } {
  return { line: p.line, character: p.character + by };
}
