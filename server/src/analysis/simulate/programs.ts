// Compiled programs kept between analyses of one Workspace. A program is reused while the files say the same apart
// from positions (the Workspace's shape key: every file's facts unchanged but for where things are) and every
// function it inlines is still there: the very same facts object, or one that stands for it now (an edited function
// indexed again to the same facts, or a function moved by lines added above it; see splice.ts). A kept program is
// given the new objects: its instructions' and frames' positions, and the names of temporaries made from positions.
// Any other change recompiles everything. What a compilation reads from the call graph depends on the facts' shape
// alone.
import type { FunctionFacts } from '../index/facts';
import { movedName } from '../splice';
import type { Program } from './program';

export class ProgramCache {
  hits = 0;
  misses = 0;
  private shape: string | undefined;
  private readonly programs = new Map<string, Program>();
  private live = new Set<FunctionFacts>();
  private renamed: ReadonlyMap<object, object> = new Map();

  /**
   * Starts an analysis: the shape key of its facts, every function they hold, and the facts objects that stand for
   * older ones since the last analysis (old -> new; chains of them are followed).
   */
  begin(shape: string, functions: Iterable<FunctionFacts>, renamed: ReadonlyMap<object, object>): void {
    if (shape !== this.shape) this.programs.clear();
    this.shape = shape;
    this.live = new Set(functions);
    this.renamed = renamed;
  }

  /** The program stored under `key` if it still holds, else `compile()`'s (stored). */
  get(key: string, compile: () => Program): Program {
    const kept = this.programs.get(key);
    if (kept && kept.frames.every((f) => this.live.has(this.now(f.fn)))) {
      this.hits++;
      if (kept.frames.every((f) => this.live.has(f.fn))) return kept;
      const program = this.follow(kept);
      this.programs.set(key, program);
      return program;
    }
    this.misses++;
    const program = compile();
    this.programs.set(key, program);
    return program;
  }

  /** What stands for `o` now. */
  private now<T extends object>(o: T): T {
    let x: object = o;
    for (let n = 0; n < 1000; n++) {
      const next = this.renamed.get(x);
      if (!next) break;
      x = next;
    }
    return x as T;
  }

  /** The program with every facts object it refers to replaced by what stands for it now. */
  private follow(p: Program): Program {
    const frames = p.frames.map((f) => ({
      ...f,
      fn: this.now(f.fn),
      ...(f.callAt ? { callAt: this.now(f.callAt) } : {}),
    }));
    const instrs = p.instrs.map((i) => {
      const at = this.now(i.at);
      return at === i.at ? i : { ...i, at };
    });
    // Temporaries are named after where they are made ($ret@12:8, in the frame of the function that makes them).
    const slotNames = p.slotNames.map((name) => {
      const colon = name.indexOf(':');
      const frame = Number(name.slice(0, colon));
      const delta = frames[frame].fn.span.line - p.frames[frame].fn.span.line;
      return delta ? `${frame}:${movedName(name.slice(colon + 1), delta)}` : name;
    });
    return { ...p, frames, instrs, slotNames };
  }
}
