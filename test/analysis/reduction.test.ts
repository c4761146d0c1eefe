// The explorer's reduction (a thread runs alone while nothing another thread can reach before it lets go of a lock
// conflicts with its step; slots nothing reads again are forgotten) must change how much is searched, never what
// is found: the same hazards at the same places, and the same guards seeing NULL or the tables, as the full search,
// on every fixture, the bundled example and generated hooks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Analysis } from '../../server/src/analysis';
import { classify } from '../../server/src/analysis/findings/classify';
import { kvmArmV4 } from '../../server/src/analysis/model/builtin';
import { applyModelFile } from '../../server/src/analysis/model/loader';
import { explore, type ExploreResult } from '../../server/src/analysis/simulate/explore';
import { analyzeDir, analyzeTexts, exampleDir, fixturesDir } from '../helpers';
import { hookC, type HookOp } from './hook-ops';

/**
 * What an exploration found, without the witnesses' interleavings: the hazards' kinds and places, and what each
 * guard saw. Not the stories: a hazard's story is read off its witness, and a state keeps the first path that
 * reached it, so when paths with different stories meet in one state, which story survives depends on the search
 * order (the full search is no more complete in that than the reduced one). The classes each release and each
 * class fixture must show are pinned by simulate.test.ts.
 */
function outcome(r: ExploreResult): string[] {
  return [
    ...new Set(r.hazards.map((h) => `hazard ${h.kind} t${h.thread}@${h.pc}`)),
    ...r.guardsSawNull.map((g) => `null-seen t${g.thread}@${g.pc} [${g.held}]`),
    ...r.guardsSawTables.map((g) => `tables-seen t${g.thread}@${g.pc} [${g.held}]`),
  ].sort();
}

/** Re-explores every run of the analysis without the reduction and compares; returns the state counts. */
function compare(a: Analysis, label: string): { full: number; reduced: number } {
  let full = 0;
  let reduced = 0;
  for (const sim of a.simulations) {
    for (const run of sim.runs) {
      const story = (h: Parameters<typeof classify>[0]) =>
        classify(h, run.threads, a.model.lock.name, sim.entry.context);
      const r = explore(run.threads, 2_000_000, story, { reduce: true });
      const f = explore(run.threads, 2_000_000, story, { reduce: false });
      assert.ok(f.complete && r.complete, `${label}: ${sim.entry.fn.name} vs ${run.actor.path.label} did not finish`);
      assert.deepEqual(outcome(r), outcome(f), `${label}: ${sim.entry.fn.name} vs ${run.actor.path.label}`);
      assert.ok(r.states <= f.states, `${label}: the reduction explored more (${r.states} > ${f.states})`);
      full += f.states;
      reduced += r.states;
    }
  }
  return { full, reduced };
}

function fixtureDirs(): string[] {
  const out: string[] = [];
  for (const group of ['history', 'classes']) {
    const root = join(fixturesDir, group);
    for (const d of readdirSync(root)) {
      const dir = join(root, d);
      if (!statSync(dir).isDirectory()) continue;
      if (group === 'history') out.push(dir);
      else for (const v of ['before', 'after']) out.push(join(dir, v));
    }
  }
  return out;
}

describe('the reduced search finds what the full search finds', () => {
  it('on the bundled example, with far fewer states', async () => {
    const { full, reduced } = compare(await analyzeDir(exampleDir), 'example');
    // The full search needs ~160k states here; the reduction is what makes per-keystroke analysis affordable.
    assert.ok(reduced * 10 < full, `reduced ${reduced} vs full ${full}`);
  });

  it('on every history and class fixture', async () => {
    const dirs = fixtureDirs();
    assert.ok(dirs.length >= 12, `found ${dirs.length} fixture folders`);
    for (const dir of dirs) compare(await analyzeDir(dir), dir.slice(fixturesDir.length + 1));
  });

  it('without path explosion: forty branches in a row under the lock', async () => {
    const branches = Array.from(
      { length: 40 },
      (_, i) => `\tif (more(kvm))\n\t\tn${i % 4} = ${i};\n\twalk(*pgd);`,
    ).join('\n');
    const text = `int kvm_age_hva(struct kvm *kvm, unsigned long start, unsigned long end)\n{\n\tpgd_t *pgd;\n\tint n0, n1, n2, n3;\n\n\tspin_lock(&kvm->mmu_lock);\n\tif (!kvm->arch.pgd) {\n\t\tspin_unlock(&kvm->mmu_lock);\n\t\treturn 0;\n\t}\n\tpgd = kvm->arch.pgd;\n${branches}\n\tspin_unlock(&kvm->mmu_lock);\n\treturn 0;\n}\n\nvoid kvm_free_stage2_pgd(struct kvm *kvm)\n{\n\tvoid *pgd = NULL;\n\n\tspin_lock(&kvm->mmu_lock);\n\tif (kvm->arch.pgd) {\n\t\tpgd = READ_ONCE(kvm->arch.pgd);\n\t\tkvm->arch.pgd = NULL;\n\t}\n\tspin_unlock(&kvm->mmu_lock);\n\tif (pgd)\n\t\tfree_pages_exact(pgd, S2_PGD_SIZE);\n}\n\nvoid kvm_arch_flush_shadow_all(struct kvm *kvm)\n{\n\tkvm_free_stage2_pgd(kvm);\n}\n`;
    const a = await analyzeTexts({ 'mmu.c': text });
    const own = a.chains.filter(({ chain }) => chain.entry.fn.name === 'kvm_age_hva');
    assert.ok(
      own.length > 0 && own.every(({ verdict }) => verdict.verdict === 'safe'),
      own.map(({ verdict }) => verdict.reason).join('; '),
    );
    // 2^40 ways through the branches; dead values forgotten at each join, they are a few hundred states.
    assert.ok(a.stats.states < 5_000, `${a.stats.states} states`);
  });

  it('on generated hooks racing both teardown shapes', async () => {
    const teardown = [
      `void kvm_free_stage2_pgd(struct kvm *kvm)\n{\n\tvoid *pgd = NULL;\n\n\tspin_lock(&kvm->mmu_lock);\n\tif (kvm->arch.pgd) {\n\t\tunmap_all(kvm);\n\t\tpgd = READ_ONCE(kvm->arch.pgd);\n\t\tkvm->arch.pgd = NULL;\n\t}\n\tspin_unlock(&kvm->mmu_lock);\n\tif (pgd)\n\t\tfree_pages_exact(pgd, S2_PGD_SIZE);\n}\n\nstatic void unmap_all(struct kvm *kvm)\n{\n\tpgd_t *pgd = kvm->arch.pgd;\n\n\tdo {\n\t\twalk_all(*pgd);\n\t\tcond_resched_lock(&kvm->mmu_lock);\n\t} while (more(kvm));\n}`,
      `void kvm_free_stage2_pgd(struct kvm *kvm)\n{\n\tif (kvm->arch.pgd == NULL)\n\t\treturn;\n\tspin_lock(&kvm->mmu_lock);\n\twalk_all(*kvm->arch.pgd);\n\tspin_unlock(&kvm->mmu_lock);\n\tfree_pages_exact(kvm->arch.pgd, S2_PGD_SIZE);\n\tkvm->arch.pgd = NULL;\n}`,
    ];
    const model = applyModelFile(
      kvmArmV4,
      { hooks: [{ function: 'lp_hook', context: 'mmu-notifier', via: ['clear_young'], locksHeld: [] }] },
      'reduction',
    );
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<HookOp>('lock', 'unlock', 'guard', 'read', 'deref', 'dfield', 'resched', 'loop'), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.constantFrom(0, 1),
        async (ops, t) => {
          const text = `int lp_hook(struct kvm *kvm)\n{\n\tpgd_t *pgd = kvm->arch.pgd;\n\n${ops.map((o) => hookC[o]).join('\n')}\n\treturn 0;\n}\n\n${teardown[t]}\n\nvoid kvm_arch_flush_shadow_all(struct kvm *kvm)\n{\n\tkvm_free_stage2_pgd(kvm);\n}\n`;
          compare(await analyzeTexts({ 'mmu.c': text }, { model }), `${ops.join(',')} / teardown ${t}`);
          tried++;
        },
      ),
      { numRuns: Number(process.env.LOCKPATH_FUZZ_RUNS ?? 60), seed: 20171031 },
    );
    assert.ok(tried >= 60 || process.env.LOCKPATH_FUZZ_RUNS !== undefined);
  });
});
