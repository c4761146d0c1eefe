// Properties of the simulator over generated notifier hooks (random sequences of lock operations, guards, reads,
// dereferences and lock drops) racing a teardown: removing a guard never makes a chain safer, putting a guarded
// dereference under the lock never creates a race, and the answer never depends on the run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Analysis } from '../../server/src/analysis';
import { applyModelFile } from '../../server/src/analysis/model/loader';
import { kvmArmV4 } from '../../server/src/analysis/model/builtin';
import { analyzeTexts } from '../helpers';
import { hookC, type HookOp } from './hook-ops';

type Op = Exclude<HookOp, 'loop'>;
const C = hookC;

const FREE = {
  fixed: `void kvm_free_stage2_pgd(struct kvm *kvm)
{
	void *pgd = NULL;

	spin_lock(&kvm->mmu_lock);
	if (kvm->arch.pgd) {
		pgd = READ_ONCE(kvm->arch.pgd);
		kvm->arch.pgd = NULL;
	}
	spin_unlock(&kvm->mmu_lock);
	if (pgd)
		free_pages_exact(pgd, S2_PGD_SIZE);
}`,
  v411: `void kvm_free_stage2_pgd(struct kvm *kvm)
{
	if (kvm->arch.pgd == NULL)
		return;
	spin_lock(&kvm->mmu_lock);
	walk_all(*kvm->arch.pgd);
	spin_unlock(&kvm->mmu_lock);
	free_pages_exact(kvm->arch.pgd, S2_PGD_SIZE);
	kvm->arch.pgd = NULL;
}`,
};

const model = applyModelFile(
  kvmArmV4,
  { hooks: [{ function: 'lp_hook', context: 'mmu-notifier', via: ['clear_young'], locksHeld: [] }] },
  'properties',
);

function source(ops: readonly Op[], free: keyof typeof FREE): string {
  return `int lp_hook(struct kvm *kvm)\n{\n\tpgd_t *pgd;\n\n${ops.map((o) => C[o]).join('\n')}\n\treturn 0;\n}\n\n${FREE[free]}\n\nvoid kvm_arch_flush_shadow_all(struct kvm *kvm)\n{\n\tkvm_free_stage2_pgd(kvm);\n}\n`;
}

async function analyze(ops: readonly Op[], free: keyof typeof FREE): Promise<Analysis> {
  return analyzeTexts({ 'mmu.c': source(ops, free) }, { model, maxStates: 50_000 });
}

function hookVerdict(a: Analysis): string {
  const own = a.chains.filter(({ chain }) => chain.entry.fn.name === 'lp_hook');
  if (own.some(({ verdict }) => verdict.verdict === 'race')) return 'race';
  if (own.some(({ verdict }) => verdict.verdict === 'inconclusive')) return 'inconclusive';
  return 'safe';
}

/** Is the lock held before each position, reading the straight-line code (returns end the path). */
function heldBefore(ops: readonly Op[]): boolean[] {
  const out: boolean[] = [];
  let held = false;
  for (const o of ops) {
    out.push(held);
    if (o === 'lock') held = true;
    if (o === 'unlock') held = false;
  }
  out.push(held);
  return out;
}

const ops = fc.array(fc.constantFrom<Op>('lock', 'unlock', 'guard', 'read', 'deref', 'dfield', 'resched'), {
  minLength: 1,
  maxLength: 7,
});
const free = fc.constantFrom<keyof typeof FREE>('fixed', 'v411');
const runs = { numRuns: 60, seed: 20170706 };

describe('simulator properties (fast-check, generated hooks)', () => {
  it('removing a guard never makes a chain safer', async () => {
    await fc.assert(
      fc.asyncProperty(ops, free, fc.nat(), async (program, f, pick) => {
        const guards = program.map((o, i) => (o === 'guard' ? i : -1)).filter((i) => i >= 0);
        fc.pre(guards.length > 0);
        const without = program.filter((_, i) => i !== guards[pick % guards.length]);
        const before = hookVerdict(await analyze(program, f));
        const after = hookVerdict(await analyze(without, f));
        if (before === 'race') assert.equal(after, 'race', `${program} -> ${without}`);
      }),
      runs,
    );
  });

  it('putting a guarded dereference under the lock never creates a race', async () => {
    await fc.assert(
      fc.asyncProperty(ops, free, async (program, f) => {
        // Wrap the first guard and everything after it in lock/unlock, where the code did not hold the lock.
        const held = heldBefore(program);
        const g = program.indexOf('guard');
        fc.pre(g >= 0 && !held[g] && program.slice(g).every((o) => o !== 'lock' && o !== 'unlock' && o !== 'resched'));
        fc.pre(program.slice(g).some((o) => o === 'dfield' || o === 'deref'));
        const locked: Op[] = [...program.slice(0, g), 'lock', ...program.slice(g), 'unlock'];
        const before = hookVerdict(await analyze(program, f));
        const after = hookVerdict(await analyze(locked, f));
        if (before === 'safe') assert.equal(after, 'safe', `${program} -> ${locked}`);
      }),
      runs,
    );
  });

  it('gives the same findings and witnesses on every run', async () => {
    await fc.assert(
      fc.asyncProperty(ops, free, async (program, f) => {
        const show = (a: Analysis) =>
          JSON.stringify(
            a.findings.map((x) => [x.id, x.class, x.kind, x.at, x.witness.map((s) => [s.lane, s.action, s.at.line])]),
          );
        assert.equal(show(await analyze(program, f)), show(await analyze(program, f)));
      }),
      { numRuns: 25, seed: 42 },
    );
  });

  it('a hook that tests the pointer under the lock before every dereference is safe against the fixed teardown', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Op>('dfield', 'read', 'deref'), { minLength: 1, maxLength: 4 }),
        async (body) => {
          const program: Op[] = ['lock', 'guard', ...body, 'unlock'];
          assert.equal(hookVerdict(await analyze(program, 'fixed')), 'safe', program.join(','));
        },
      ),
      { numRuns: 20, seed: 7 },
    );
  });

  it('an unguarded dereference of the field from a notifier always races', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Op[]>(['dfield'], ['lock', 'dfield', 'unlock'], ['read', 'deref']),
        free,
        async (program, f) => {
          const a = await analyze(program, f);
          assert.equal(hookVerdict(a), 'race');
          assert.ok(a.findings.some((x) => x.function === 'lp_hook'));
        },
      ),
      { numRuns: 6, seed: 1 },
    );
  });
});
