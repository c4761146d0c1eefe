// Every call chain from an entry to a function that touches the stage-2 root, with its context, the call site of
// each hop, and the locks and guards along it. Function-pointer parameters are followed with the functions each
// caller actually passes, so kvm_age_hva reaches kvm_age_hva_handler and not the other handlers.
import type { Bindings, CallGraph } from '../callgraph/graph';
import type { Entry } from '../contexts/entries';
import type { FunctionFacts } from '../index/facts';
import { hashText } from '../index/span';
import { pinsOf, type Model } from '../model/types';

export interface Hop {
  function: string;
  /** Where the hop happens: the call site in the previous function (the entry: its definition). */
  file: string;
  line: number;
  column: number;
  /** How the call resolves: direct, param handler, table arm_exit_handlers[...], ... */
  via: string;
}

export interface Chain {
  id: string;
  entry: Entry;
  context: string;
  path: string[];
  hops: Hop[];
  /** Locks held when the last function is entered: the core's (built-in hooks) plus each call site's. */
  locks: string[];
  /** Guards of the resource that dominate a call on the path: function and line. */
  guards: { function: string; file: string; line: number }[];
  walker: FunctionFacts;
  /** Config symbols the chain's call sites assume, where the configuration does not fix them: CONFIG_X true. */
  config?: Record<string, boolean>;
}

export interface ChainLimits {
  /** Most chains from one entry; the rest are reported as truncated. */
  perEntry: number;
  /** Most call-graph steps explored from one entry. */
  stepsPerEntry: number;
  /** Longest chain followed (functions from the entry); deeper ones are cut and reported. */
  maxDepth: number;
}

export const defaultChainLimits: ChainLimits = { perEntry: 2000, stepsPerEntry: 200_000, maxDepth: 256 };

export interface ChainResult {
  chains: Chain[];
  truncated: { entry: string; reason: string }[];
}

export function enumerateChains(
  graph: CallGraph,
  entries: readonly Entry[],
  model: Model,
  limits = defaultChainLimits,
): ChainResult {
  const chains: Chain[] = [];
  const truncated: ChainResult['truncated'] = [];
  for (const entry of entries) {
    if (!graph.reachesRoot(entry.fn)) continue;
    // kvm_put_kvm reaches kvm_destroy_vm only when the last reference goes: never while this context pins it.
    const pinned = new Set(pinsOf(model, entry.context).map((p) => p.pin));
    const unreachable = new Set(
      model.teardownPaths.filter((p) => p.startFunction && pinned.has(p.requires)).map((p) => p.startFunction!),
    );
    const seenPaths = new Set<string>();
    let steps = 0;
    let count = 0;
    let cut = false;
    const stack: FunctionFacts[] = [entry.fn];
    const onStack = new Set<FunctionFacts>(stack);
    const hops: Hop[] = [
      {
        function: entry.fn.name,
        file: entry.fn.file,
        line: entry.fn.nameSpan.line,
        column: entry.fn.nameSpan.column,
        via: entry.via,
      },
    ];
    const locks: string[][] = [entry.locksHeld];
    const guards: Chain['guards'][] = [[]];

    const emit = (walker: FunctionFacts, config: ReadonlyMap<string, boolean>): void => {
      const path = stack.map((f) => f.name);
      const key = path.join('>');
      if (seenPaths.has(key)) return;
      seenPaths.add(key);
      const id = hashText(`${entry.via}|${key}`);
      chains.push({
        id,
        entry,
        context: entry.context,
        path,
        hops: hops.map((h) => ({ ...h })),
        locks: [...new Set(locks.flat())],
        guards: guards.flat(),
        walker,
        ...(config.size ? { config: Object.fromEntries([...config].sort(([a], [b]) => a.localeCompare(b))) } : {}),
      });
      count++;
    };

    // One choice per config symbol along a chain: a call under #ifdef X and one under #ifndef X do not meet.
    const visit = (fn: FunctionFacts, bindings: Bindings | undefined, config: ReadonlyMap<string, boolean>): void => {
      if (fn.touchesRoot) emit(fn, config);
      for (const site of fn.calls) {
        const siteConfig = graph.siteConfig(fn, site, config);
        if (!siteConfig) continue;
        for (const target of graph.targets(fn, site, bindings ?? new Map())) {
          if (cut || ++steps > limits.stepsPerEntry || count >= limits.perEntry) {
            if (!cut)
              truncated.push({
                entry: `${entry.fn.name} (${entry.via})`,
                reason: `more than ${count >= limits.perEntry ? `${limits.perEntry} chains` : `${limits.stepsPerEntry} steps`}`,
              });
            cut = true;
            return;
          }
          const t = target.fn;
          if (onStack.has(t) || !graph.reachesRoot(t) || unreachable.has(t.name)) continue;
          // A call chain deeper than any kernel's is cut, and the entry says so (never a stack overflow).
          if (stack.length >= limits.maxDepth) {
            truncated.push({
              entry: `${entry.fn.name} (${entry.via})`,
              reason: `a call chain deeper than ${limits.maxDepth} functions (through ${fn.name})`,
            });
            cut = true;
            return;
          }
          stack.push(t);
          onStack.add(t);
          hops.push({ function: t.name, file: fn.file, line: site.at.line, column: site.at.column, via: target.via });
          locks.push(site.locksHeld);
          guards.push(site.guards.map((g) => ({ function: fn.name, file: fn.file, line: g.line })));
          visit(t, graph.bindingsFor(fn, target.args, t, bindings), siteConfig);
          onStack.delete(t);
          stack.pop();
          hops.pop();
          locks.pop();
          guards.pop();
        }
      }
    };
    visit(entry.fn, undefined, new Map());
  }
  chains.sort(compareChains);
  return { chains, truncated };
}

/** Deterministic order: by walker, then context, entry, path. */
export function compareChains(a: Chain, b: Chain): number {
  return (
    a.walker.name.localeCompare(b.walker.name) ||
    a.context.localeCompare(b.context) ||
    a.entry.fn.name.localeCompare(b.entry.fn.name) ||
    a.entry.via.localeCompare(b.entry.via) ||
    a.path.join('>').localeCompare(b.path.join('>'))
  );
}

/** The contexts of the chains passing through each function (for the built-in/derived comparison). */
export function contextsThrough(chains: readonly Chain[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const c of chains) {
    for (const f of c.path) {
      let s = m.get(f);
      if (!s) m.set(f, (s = new Set()));
      s.add(c.context);
    }
  }
  return m;
}
