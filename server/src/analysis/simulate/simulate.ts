// Runs the lifetime simulation for every entry that has chains: its thread against each teardown actor that the
// lifetime rules let start while it runs, and turns what the explorer saw into a verdict per chain.
import type { CallGraph } from '../callgraph/graph';
import type { Chain } from '../chains/chains';
import type { Entry } from '../contexts/entries';
import { classify } from '../findings/classify';
import type { Model } from '../model/types';
import { assumptionEnabled, pinsOf } from '../model/types';
import type { TeardownActor } from './actors';
import { explore, type ExploreResult, type Hazard, type ThreadSpec } from './explore';
import { compileThread, stackOf, type Program } from './program';
import { fingerprint } from './fingerprint';
import { replayWitness } from './replay';
import type { ProgramCache } from './programs';

export interface Run {
  actor: TeardownActor;
  threads: ThreadSpec[];
  result: ExploreResult;
}

export interface Blocked {
  actor: TeardownActor;
  /** The assumption that keeps the actor from starting while this entry runs. */
  assumption: string;
  description: string;
}

export interface EntrySimulation {
  entry: Entry;
  program: Program;
  runs: Run[];
  blocked: Blocked[];
  /** Actors that never free or clear the resource (nothing to meet). */
  harmless: TeardownActor[];
}

export interface SimulationLimits {
  maxStates: number;
}

export const defaultSimulationLimits: SimulationLimits = { maxStates: 250_000 };

/** Where explorations can be kept between runs (the CLI keeps them on disk, beside its index cache). */
export interface ExploreStore {
  get(key: string): ExploreResult | undefined;
  put(key: string, result: ExploreResult): void;
}

const CACHE_LIMIT = 500;

/**
 * Exploration results by the structure of the programs explored (positions left out): an edit elsewhere, or one
 * that only moves lines, reuses them, and witnesses are re-rendered against the new positions. The most recent
 * CACHE_LIMIT are kept in memory; a store, when given, keeps them all between runs.
 */
export class ExploreCache {
  /** Results the store gave (not found in memory), so far. */
  fromStore = 0;
  private readonly memory = new Map<string, ExploreResult>();

  constructor(private readonly store?: ExploreStore) {}

  get(key: string): ExploreResult | undefined {
    const kept = this.memory.get(key);
    if (kept || !this.store) return kept;
    const stored = this.store.get(key);
    if (stored) {
      this.fromStore++;
      this.remember(key, stored);
    }
    return stored;
  }

  set(key: string, result: ExploreResult): void {
    this.remember(key, result);
    this.store?.put(key, result);
  }

  private remember(key: string, result: ExploreResult): void {
    if (this.memory.size >= CACHE_LIMIT) this.memory.delete(this.memory.keys().next().value!);
    this.memory.set(key, result);
  }
}

export function simulateEntry(
  graph: CallGraph,
  model: Model,
  entry: Entry,
  actors: readonly TeardownActor[],
  limits = defaultSimulationLimits,
  cache?: ExploreCache,
  programs?: ProgramCache,
): EntrySimulation {
  const compile = (): Program =>
    compileThread(graph, entry.fn, {
      locksHeld: entry.locksHeld.map((lock) => ({ lock, at: entry.fn.nameSpan })),
      mayBlock: entry.mayBlock,
    });
  const program = programs
    ? programs.get(`${entry.fn.file}|${entry.fn.name}|${entry.locksHeld.join(',')}|${entry.mayBlock}`, compile)
    : compile();
  const sim: EntrySimulation = { entry, program, runs: [], blocked: [], harmless: [] };
  const pins = pinsOf(model, entry.context);
  for (const actor of actors) {
    const pin = pins.find((p) => p.pin === actor.path.requires);
    if (pin) {
      const a = model.assumptions.find((x) => x.id === pin.assumption)!;
      sim.blocked.push({ actor, assumption: a.id, description: a.description });
      continue;
    }
    if (entry.context === 'teardown' && !assumptionEnabled(model, 'releases-may-overlap')) {
      const a = model.assumptions.find((x) => x.id === 'releases-may-overlap');
      sim.blocked.push({
        actor,
        assumption: 'releases-may-overlap',
        description: `switched off: ${a?.description ?? 'two releases never overlap'}`,
      });
      continue;
    }
    if (!actor.frees) {
      sim.harmless.push(actor);
      continue;
    }
    const threads: ThreadSpec[] = [
      { name: threadName(model, entry), program, mutates: entry.context === 'teardown' },
      { name: actorName(model, actor), program: actor.program, mutates: true },
    ];
    const key = cache
      ? `${limits.maxStates}|${model.lock.name}|${entry.context}|${program.mayBlock}|${fingerprint(program)}|${fingerprint(actor.program)}`
      : '';
    let result = cache?.get(key);
    if (!result) {
      result = explore(threads, limits.maxStates, (h) => classify(h, threads, model.lock.name, entry.context));
      cache?.set(key, result);
    }
    sim.runs.push({ actor, threads, result });
  }
  return sim;
}

export function threadName(model: Model, entry: Entry): string {
  const label = model.contexts.find((c) => c.id === entry.context)?.label ?? entry.context;
  return `${label}: ${entry.fn.name}`;
}

export function actorName(model: Model, actor: TeardownActor): string {
  const frees = actor.program.frames.some((f) => f.fn.name === model.freeFunction);
  return `${actor.path.label}: ${frees ? model.freeFunction : actor.entries.map((e) => e.name).join('/')}`;
}

/** Function names from the entry down to the instruction's function. */
export function stackNames(program: Program, pc: number): string[] {
  return stackOf(program, program.instrs[pc].frame).map((f) => f.fn.name);
}

/** The chain of `chains` (all of one entry) a hazard belongs to: the longest path the hazard's stack runs along. */
export function chainForStack(chains: readonly Chain[], stack: readonly string[]): Chain | undefined {
  let best: Chain | undefined;
  let bestLen = -1;
  for (const c of chains) {
    let n = 0;
    while (n < c.path.length && n < stack.length && c.path[n] === stack[n]) n++;
    const full = n === c.path.length;
    const score = n * 2 + (full ? 1 : 0);
    if (score > bestLen) {
      best = c;
      bestLen = score;
    }
  }
  return best;
}

export interface ChainVerdict {
  verdict: 'race' | 'safe' | 'inconclusive';
  reason: string;
  assumptions: string[];
  hazards: { run: Run; hazard: Hazard }[];
}

/** Verdicts for all chains of one entry from its simulation. */
export function chainVerdicts(model: Model, sim: EntrySimulation, chains: readonly Chain[]): Map<Chain, ChainVerdict> {
  const out = new Map<Chain, ChainVerdict>();
  const assumptions = [
    ...new Set([
      ...sim.blocked.map((b) => b.assumption),
      ...(sim.entry.context === 'teardown' && sim.runs.length ? ['releases-may-overlap'] : []),
    ]),
  ];
  for (const c of chains)
    out.set(c, { verdict: 'safe', reason: '', assumptions: [...assumptions].sort(), hazards: [] });
  const infeasible = new Map<Chain, string>();
  for (const run of sim.runs) {
    for (const hazard of run.result.hazards) {
      if (hazard.thread !== 0) continue;
      const chain = chainForStack(chains, stackNames(sim.program, hazard.pc));
      if (!chain) continue;
      // Only a witness the plain interpreter can replay is a finding; anything else is a defect to report.
      const replay = replayWitness(run.threads, hazard);
      if (replay.feasible) out.get(chain)!.hazards.push({ run, hazard });
      else
        infeasible.set(
          chain,
          `the witness found for ${hazard.kind} could not be replayed (step ${replay.step + 1}: ${replay.why}); this is a defect of lockpath, please report it`,
        );
    }
  }
  const res = model.resource.display;
  for (const [chain, v] of out) {
    const defect = infeasible.get(chain);
    if (defect && !v.hazards.length) {
      v.verdict = 'inconclusive';
      v.reason = defect;
      continue;
    }
    if (v.hazards.length) {
      v.verdict = 'race';
      const kinds = [...new Set(v.hazards.map((h) => h.hazard.kind))].join(', ');
      const against = [...new Set(v.hazards.map((h) => h.run.actor.path.label))].join(' and ');
      v.reason = `${kinds} while ${model.freeFunction} runs from ${against}`;
      continue;
    }
    if (sim.program.truncated || sim.runs.some((r) => !r.result.complete)) {
      v.verdict = 'inconclusive';
      v.reason = `the search stopped at its bound (${sim.runs.map((r) => r.result.states).join('+')} states, program ${sim.program.instrs.length} steps); raise the limits to decide`;
      continue;
    }
    if (sim.runs.length === 0) {
      if (!sim.blocked.length) {
        v.verdict = 'inconclusive';
        v.reason = `no teardown path in the indexed code frees ${res}`;
      } else {
        const pinned = sim.blocked.map((b) => `${b.actor.path.label} cannot start (${b.assumption})`);
        const harmless = sim.harmless.map((a) => `${a.path.label} does not free ${res} in the indexed code`);
        v.reason = `pinned: ${[...pinned, ...harmless].join('; ')}`;
      }
      continue;
    }
    v.reason = safeReason(model, sim, chain);
  }
  return out;
}

function safeReason(model: Model, sim: EntrySimulation, chain: Chain): string {
  const res = model.resource.display;
  const seen = new Map<string, string>();
  for (const run of sim.runs) {
    for (const g of run.result.guardsSawNull) {
      if (g.thread !== 0) continue;
      const stack = stackNames(sim.program, g.pc);
      if (!stack.every((f, i) => chain.path[i] === f)) continue;
      const instr = sim.program.instrs[g.pc];
      const fn = stack[stack.length - 1];
      const locks = g.held.length
        ? `under ${g.held.map((l) => (l === model.lock.name ? model.lock.display : l)).join(', ')}`
        : 'without a lock';
      const text = instr.op === 'branch' ? `\`${instr.text}\`` : res;
      seen.set(`${fn}:${instr.at.line}`, `${fn} tests ${text} (line ${instr.at.line + 1}) ${locks}`);
    }
  }
  const pinned = sim.blocked.map((b) => `${b.actor.path.label} cannot start (${b.assumption})`);
  const parts: string[] = [];
  if (seen.size)
    parts.push(
      `guarded: ${[...seen.values()].join('; ')}; each test finds NULL once ${model.freeFunction} has cleared ${res}`,
    );
  else parts.push(`no interleaving reaches a NULL or freed ${res} on this path`);
  if (pinned.length) parts.push(`pinned: ${pinned.join('; ')}`);
  const states = sim.runs.reduce((n, r) => n + r.result.states, 0);
  return `${parts.join('; ')} (${states} states explored)`;
}
