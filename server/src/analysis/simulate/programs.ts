// Compiled programs kept between analyses of one Workspace. A program is reused while the files say the same apart
// from positions (the Workspace's shape key: every file's facts unchanged but for where things are) and every
// function it inlines is the very same facts object, so its positions are the same too. An edit that rewrites a
// comment or moves lines recompiles only the programs that inline the edited or moved functions; any other change
// recompiles everything. What a compilation reads from the call graph depends on the facts' shape alone. A function
// indexed again to the same facts (a comment rewritten inside it) counts as the same: the program kept is given the
// new facts objects.
import type { FunctionFacts } from '../index/facts';
import type { Program } from './program';

export class ProgramCache {
  hits = 0;
  misses = 0;
  private shape: string | undefined;
  private readonly programs = new Map<string, Program>();
  private live = new Set<FunctionFacts>();
  private renamed = new Map<FunctionFacts, FunctionFacts>();

  /**
   * Starts an analysis: the shape key of its facts, every function they hold, and functions indexed again to the
   * same facts since the last analysis (old -> new; chains of them are followed).
   */
  begin(shape: string, functions: Iterable<FunctionFacts>, sameFacts: ReadonlyMap<FunctionFacts, FunctionFacts>): void {
    if (shape !== this.shape) this.programs.clear();
    this.shape = shape;
    this.live = new Set(functions);
    this.renamed = new Map(sameFacts);
  }

  /** The program stored under `key` if it still holds, else `compile()`'s (stored). */
  get(key: string, compile: () => Program): Program {
    const kept = this.programs.get(key);
    const current = (fn: FunctionFacts): FunctionFacts | undefined => {
      for (let f: FunctionFacts | undefined = fn, n = 0; f && n < 64; f = this.renamed.get(f), n++) if (this.live.has(f)) return f;
      return undefined;
    };
    if (kept && kept.frames.every((f) => current(f.fn))) {
      this.hits++;
      if (kept.frames.every((f) => this.live.has(f.fn))) return kept;
      const program = { ...kept, frames: kept.frames.map((f) => ({ ...f, fn: current(f.fn)! })) };
      this.programs.set(key, program);
      return program;
    }
    this.misses++;
    const program = compile();
    this.programs.set(key, program);
    return program;
  }
}
