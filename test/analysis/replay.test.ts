// Witness replay (issue #13, "feasible witnesses only"): every hazard the explorer reports on the fixtures replays
// step by step in the plain interpreter, and a witness with one step changed is rejected with the reason.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Analysis } from '../../server/src/analysis';
import { replayWitness } from '../../server/src/analysis/simulate/replay';
import type { Hazard } from '../../server/src/analysis/simulate/explore';
import { applyModelFile } from '../../server/src/analysis/model/loader';
import { kvmArmV4 } from '../../server/src/analysis/model/builtin';
import { analyzeDir, exampleDir, fixturesDir } from '../helpers';

const folders = [
  exampleDir,
  ...readdirSync(join(fixturesDir, 'history'))
    .filter((d) => d.startsWith('v'))
    .map((d) => join(fixturesDir, 'history', d)),
  ...readdirSync(join(fixturesDir, 'classes'))
    .filter((d) => !d.endsWith('.md'))
    .flatMap((d) => ['before', 'after'].map((w) => join(fixturesDir, 'classes', d, w))),
];

function hazards(a: Analysis): { threads: Parameters<typeof replayWitness>[0]; hazard: Hazard }[] {
  return a.simulations.flatMap((s) =>
    s.runs.flatMap((r) => r.result.hazards.map((hazard) => ({ threads: r.threads, hazard }))),
  );
}

describe('witness replay', () => {
  it('every hazard of the example, the history and the class fixtures replays', async () => {
    let n = 0;
    for (const dir of folders) {
      const a = await analyzeDir(dir);
      for (const { threads, hazard } of hazards(a)) {
        const r = replayWitness(threads, hazard);
        assert.deepEqual(r, { feasible: true }, `${dir}: ${hazard.kind} at ${hazard.pc}`);
        n++;
      }
      assert.equal(a.chains.filter(({ verdict }) => /could not be replayed/.test(verdict.reason)).length, 0, dir);
    }
    assert.ok(n > 20, `only ${n} hazards replayed`);
  });

  it('rejects a witness with a lock step left out, or a test taken the other way', async () => {
    const a = await analyzeDir(exampleDir);
    const all = hazards(a);
    const withLock = all.find(({ threads, hazard }) =>
      hazard.witness.some((s) => threads[s.thread].program.instrs[s.pc].op === 'lock' && s.thread === 1),
    );
    assert.ok(withLock, 'a witness where the teardown takes the lock');
    const lockAt = withLock.hazard.witness.findIndex(
      (s) => withLock.threads[s.thread].program.instrs[s.pc].op === 'lock' && s.thread === 1,
    );
    const dropped = { ...withLock.hazard, witness: withLock.hazard.witness.filter((_, i) => i !== lockAt) };
    const r = replayWitness(withLock.threads, dropped);
    assert.equal(r.feasible, false);
    assert.ok(!r.feasible && r.step <= lockAt + 1 && r.why.length > 0, JSON.stringify(r));

    const withTest = all.find(({ threads, hazard }) =>
      hazard.witness.some(
        (s) =>
          s.taken !== undefined &&
          threads[s.thread].program.instrs[s.pc].op === 'branch' &&
          (threads[s.thread].program.instrs[s.pc] as { guard: boolean }).guard,
      ),
    );
    assert.ok(withTest);
    const at = withTest.hazard.witness.findIndex(
      (s) => s.taken !== undefined && (withTest.threads[s.thread].program.instrs[s.pc] as { guard?: boolean }).guard,
    );
    const flipped = {
      ...withTest.hazard,
      witness: withTest.hazard.witness.map((s, i) => (i === at ? { ...s, taken: !s.taken } : s)),
    };
    const f = replayWitness(withTest.threads, flipped);
    assert.equal(f.feasible, false);
    assert.match(!f.feasible ? f.why : '', /test|cannot be at|holds/);
  });

  it('chain facts and witnesses agree: a lock the chain holds is held at the hazard, or the witness shows it dropped', async () => {
    let checked = 0;
    for (const dir of folders) {
      const a = await analyzeDir(dir);
      const display = (l: string): string => (l === a.model.lock.name ? a.model.lock.display : l);
      for (const f of a.findings) {
        const hazard = f.witness.find((s) => s.hazard) ?? f.witness[f.witness.length - 1];
        const dropped = f.witness.some((s) => s.lane === 0 && /drops|unlock/.test(s.action));
        const missing = f.chain.locks.map(display).filter((l) => !hazard.locks.includes(l));
        assert.ok(
          dropped || missing.length === 0,
          `${dir}: ${f.id} chain holds ${f.chain.locks.join(', ')}, the witness's hazard step holds ${hazard.locks.join(', ') || 'nothing'}`,
        );
        checked++;
      }
    }
    assert.ok(checked > 10, `only ${checked} findings checked`);
  });

  it('a test the explorer does not keep may go either way in a witness: with the pins off, every race replays', async () => {
    // With these two assumptions off, kvm_handle_guest_abort's witness passes a `ret == 0` test whose two ways lead
    // to the same shared steps; the explorer keeps no value for ret there (relevance.ts), and the replay accepts it.
    const model = applyModelFile(
      kvmArmV4,
      { assumptions: { 'vcpu-thread-pins-mm': false, 'vm-ioctl-pins-mm': false } },
      'test',
    );
    const a = await analyzeDir(exampleDir, { model });
    assert.deepEqual(
      a.chains.filter(({ verdict }) => verdict.verdict === 'inconclusive').map(({ verdict }) => verdict.reason),
      [],
    );
    assert.equal(a.findings.length, 11);
    for (const { threads, hazard } of hazards(a)) assert.deepEqual(replayWitness(threads, hazard), { feasible: true });
  });
});
