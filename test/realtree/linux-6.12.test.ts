// Debian's linux-source-6.12 (unpacked by scripts/fetch-linux-6.12.sh into a cache outside the repo): arm64 KVM
// with virt/kvm, as `lockpath check TREE` reads it, plus riscv for call resolution by type. Expectations are the
// real ones: no race on the tree as it is, every chain with a verdict.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadParser, Workspace, type Analysis, type WorkspaceOptions } from '../../server/src/analysis';
import { entryName } from '../../server/src/analysis/findings/findings';
import { collectSources } from '../../server/src/files/collect';
import { repoRoot } from '../helpers';

function findTree(): { tree?: string; why?: string } {
  const r = spawnSync('bash', [join(repoRoot, 'scripts', 'fetch-linux-6.12.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  const tree = r.stdout.trim().split('\n').pop();
  if (r.status === 0 && tree && existsSync(join(tree, 'arch/arm64/kvm/mmu.c'))) return { tree };
  return { why: `linux-source-6.12 is not available: ${r.stderr.trim() || `exit ${r.status}`}` };
}

const { tree, why } = findTree();
if (!tree) it('linux 6.12 KVM sources', { skip: `SKIPPED, not passed: ${why}` }, () => {});

/** arm64's arch/arm64/kvm/Kconfig selects these for KVM (6.8+: KVM_GENERIC_MMU_NOTIFIER, which selects MMU_NOTIFIER). */
const arm64Selects = { CONFIG_MMU_NOTIFIER: true, CONFIG_KVM_GENERIC_MMU_NOTIFIER: true };

async function analyze(include?: string[], opts: WorkspaceOptions = {}): Promise<Analysis> {
  const picked = collectSources(tree!, include ? { include } : {});
  const ws = new Workspace(await loadParser(), opts);
  for (const f of picked.files) ws.setFile(f, readFileSync(join(tree!, f), 'utf8'));
  try {
    return ws.analyze();
  } finally {
    ws.dispose();
  }
}

const perContext = (a: Analysis): Record<string, number> => {
  const m: Record<string, number> = {};
  for (const { chain } of a.chains) m[chain.context] = (m[chain.context] ?? 0) + 1;
  return m;
};

describe('linux 6.12 arch/arm64/kvm + virt/kvm (Debian linux-source-6.12)', { skip: !tree }, () => {
  let plain: Analysis;
  let configured: Analysis;
  before(async () => {
    let t = performance.now();
    plain = await analyze();
    const verdicts = (a: Analysis): string =>
      ['race', 'safe', 'inconclusive']
        .map((v) => `${a.chains.filter((c) => c.verdict.verdict === v).length} ${v}`)
        .join(', ');
    console.log(
      `# linux 6.12: ${plain.stats.files} files, ${plain.stats.functions} functions, ${plain.chains.length} chains (${JSON.stringify(perContext(plain))}): ${verdicts(plain)}; ${plain.findings.length} findings; ${Math.round(performance.now() - t)} ms`,
    );
    for (const f of plain.findings)
      console.log(
        `#   ${f.class} ${entryName(plain.model, f.chain)} in ${f.function} (${f.file}:${f.at.line + 1}): ${f.chain.path.join(' > ')}`,
      );
    t = performance.now();
    configured = await analyze(undefined, {
      overlay: { file: { config: arm64Selects }, source: 'arm64 Kconfig selects' },
    });
    console.log(
      `# with ${Object.keys(arm64Selects).join(', ')}: ${configured.chains.length} chains (${JSON.stringify(perContext(configured))}): ${verdicts(configured)}; ${configured.findings.length} findings; ${Math.round(performance.now() - t)} ms`,
    );
  });

  it('chooses the modern model and gives every chain a verdict with its reason', () => {
    assert.equal(plain.model.id, 'kvm-arm64-pgt');
    const c = perContext(plain);
    // Floors read off the 6.12 sources: 3 notifier hooks (5 entries) reach stage-2 walkers; teardown through
    // ->release and kvm_destroy_vm; the VCPU thread (faults, cache flushes, vcpu init, nested unmap); VM ioctls
    // (dirty logging three ways, memslot commit and flush).
    assert.ok(c['mmu-notifier'] >= 5 && c.teardown >= 4 && c.vcpu >= 10 && c['vm-ioctl'] >= 10, JSON.stringify(c));
    for (const { chain, verdict } of plain.chains) {
      assert.ok(['race', 'safe', 'inconclusive'].includes(verdict.verdict), chain.path.join(' > '));
      assert.ok(verdict.reason.length > 0, `${chain.path.join(' > ')} has no reason`);
    }
    assert.equal(plain.chains.filter((c) => c.verdict.verdict === 'inconclusive').length, 0);
  });

  it('enters the notifier hooks through kvm_mmu_notifier_ops, under mmu_lock', () => {
    const hooks = new Set<string>();
    for (const { chain } of plain.chains.filter((c) => c.chain.context === 'mmu-notifier')) {
      hooks.add(entryName(plain.model, chain));
      assert.equal(chain.entry.derived, true, 'entered from kvm_mmu_notifier_ops, not the built-in table');
      assert.deepEqual(chain.locks, ['mmu_lock'], chain.path.join(' > '));
    }
    assert.deepEqual([...hooks].sort(), ['kvm_age_gfn', 'kvm_test_age_gfn', 'kvm_unmap_gfn_range']);
  });

  it('finds no race on the tree as it is: the dispatcher takes KVM_MMU_LOCK once, remembered in r.found_memslot', () => {
    assert.deepEqual(
      plain.findings.map((f) => `${f.class} ${entryName(plain.model, f.chain)} ${f.function}`),
      [],
    );
    // The flag-guarded lock holds on every notifier chain, and the witness-free verdicts say why they are safe.
    for (const { chain, verdict } of plain.chains.filter((c) => c.chain.context === 'mmu-notifier')) {
      assert.equal(verdict.verdict, 'safe', chain.path.join(' > '));
      assert.match(verdict.reason, /guarded|no interleaving/, chain.path.join(' > '));
    }
  });

  it("kvm_destroy_vm's #else (no generic mmu notifier) is left out: every KVM architecture selects it", () => {
    const direct = (a: Analysis) =>
      a.chains.filter(({ chain }) => chain.path.join(' > ').startsWith('kvm_destroy_vm > kvm_flush_shadow_all'));
    // The built-in models fix CONFIG_MMU_NOTIFIER and CONFIG_KVM_GENERIC_MMU_NOTIFIER on (arch/*/kvm/Kconfig).
    assert.deepEqual(
      direct(plain).map(({ chain }) => chain.path.join(' > ')),
      [],
    );
    assert.deepEqual(
      direct(configured).map(({ chain }) => chain.path.join(' > ')),
      [],
    );
    assert.ok(
      plain.chains.some(({ chain }) => chain.path.join(' > ').startsWith('kvm_destroy_vm > kvm_mmu_notifier_release')),
    );
  });

  it("riscv's sbi_ext->handler(...) reaches the SBI extension handlers, not the notifier's kvm_age_gfn", async () => {
    const riscv = await analyze([
      'virt/kvm/**',
      'include/kvm/**',
      'include/linux/kvm_host.h',
      'arch/riscv/kvm/**',
      'arch/riscv/include/asm/kvm*',
    ]);
    const ecall = riscv.graph.lookup('kvm_riscv_vcpu_sbi_ecall');
    assert.ok(ecall, 'kvm_riscv_vcpu_sbi_ecall is indexed');
    const targets = ecall.calls
      .filter((s) => s.callee.kind === 'field' && s.callee.field === 'handler')
      .flatMap((s) => riscv.graph.staticTargets(ecall, s).map((t) => `${t.fn.name} (${t.via})`));
    assert.ok(targets.includes('kvm_sbi_ext_hsm_handler (field .handler)'), targets.join(', '));
    assert.deepEqual(
      targets.filter((t) => /gfn/.test(t)),
      [],
    );
    assert.deepEqual(
      riscv.chains
        .filter(
          ({ chain }) => chain.path.includes('kvm_riscv_vcpu_sbi_ecall') && chain.path.some((f) => /_gfn$/.test(f)),
        )
        .map(({ chain }) => chain.path.join(' > ')),
      [],
    );
  });
});
