// Teardown actors, built from the code: for each teardown path of the model, the thread that runs it. With
// kvm_destroy_vm in the tree, that function itself (its mmu_notifier_unregister call reaches the .release handlers);
// otherwise the core's frames (exit_mmap -> mmu_notifier_release) calling every .release handler the tree
// registers, or, with no ops table indexed, the model's teardown hooks.
import type { CallGraph } from '../callgraph/graph';
import type { FunctionFacts } from '../index/facts';
import type { Model, TeardownPathSpec } from '../model/types';
import { compileAlternatives, compileThread, type Program } from './program';

export interface TeardownActor {
  path: TeardownPathSpec;
  program: Program;
  /** The functions the actor enters the indexed code through. */
  entries: FunctionFacts[];
  /** The actor frees or clears the resource somewhere (otherwise it cannot hurt anyone). */
  frees: boolean;
}

export function buildActors(graph: CallGraph, model: Model): TeardownActor[] {
  const actors: TeardownActor[] = [];
  for (const path of model.teardownPaths) {
    const start = path.startFunction ? graph.lookup(path.startFunction) : undefined;
    const entries = start ? [start] : releaseHandlers(graph, model, path);
    if (!entries.length) continue;
    const program = start ? compileThread(graph, start) : compileAlternatives(graph, entries);
    const frees = program.instrs.some((i) => i.op === 'free' || (i.op === 'write' && i.value === 'null'));
    actors.push({ path, program, entries, frees });
  }
  return actors;
}

/** What the path's last core frame calls: the registered .release handlers, or the built-in teardown hooks. */
function releaseHandlers(graph: CallGraph, model: Model, path: TeardownPathSpec): FunctionFacts[] {
  const last = path.frames[path.frames.length - 1];
  const found: FunctionFacts[] = [];
  for (const inv of model.externalInvokes.filter((i) => i.function === last)) {
    for (const e of graph.tableFieldFunctions(inv.structType, inv.field)) {
      const fn = graph.lookup(e.function, e.table.file);
      if (fn && !found.includes(fn)) found.push(fn);
    }
  }
  if (found.length) return found;
  for (const h of model.hooks.filter((h) => h.context === 'teardown')) {
    const fn = graph.lookup(h.function);
    if (fn && !found.includes(fn)) found.push(fn);
  }
  return found;
}
