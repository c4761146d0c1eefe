// The pipeline in one place: texts -> trees -> per-file facts -> call graph -> entries -> chains -> simulation ->
// findings. A Workspace keeps each file's text, tree and facts, re-parses incrementally on edits, and re-indexes
// only files that changed. It knows nothing of LSP, URIs or terminals.
import { CallGraph } from './callgraph/graph';
import { compareChains, contextsThrough, enumerateChains, type Chain, type ChainLimits, defaultChainLimits } from './chains/chains';
import { builtinEntries, checkContexts, findEntries, type ContextCheck, type Entry } from './contexts/entries';
import { buildFindings, type Finding } from './findings/findings';
import type { FileFacts, Problem } from './index/facts';
import { indexTree } from './index/indexer';
import { chooseModel } from './model/choose';
import { applyModelFile, type ModelFile } from './model/loader';
import type { Model } from './model/types';
import { applyChange, type CParser, type TextChange, type Tree } from './parse/parser';
import { buildActors, type TeardownActor } from './simulate/actors';
import { chainVerdicts, simulateEntry, type ChainVerdict, type EntrySimulation, type ExploreCache, defaultSimulationLimits } from './simulate/simulate';

export interface ChainResult {
  chain: Chain;
  verdict: ChainVerdict;
}

export interface Analysis {
  model: Model;
  /** Why this model: named in the model file, or chosen from what the tree contains. */
  modelReason: string;
  files: FileFacts[];
  graph: CallGraph;
  entries: Entry[];
  actors: TeardownActor[];
  simulations: EntrySimulation[];
  chains: ChainResult[];
  findings: Finding[];
  problems: Problem[];
  contextChecks: ContextCheck[];
  stats: { files: number; functions: number; chains: number; states: number; ms: number };
}

export interface WorkspaceOptions {
  /** A fixed model; without one, chosen per analysis from the tree. */
  model?: Model;
  /** A model file with base "auto": applied on top of the model chosen for the tree. */
  overlay?: { file: ModelFile; source: string };
  maxStates?: number;
  chainLimits?: ChainLimits;
  /** Files larger than this are not parsed (a note says so). */
  maxFileBytes?: number;
}

interface FileState {
  text: string;
  tree?: Tree;
  facts?: FileFacts;
  factsModel?: string;
  skipped?: Problem;
}

export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;

export class Workspace {
  private readonly files = new Map<string, FileState>();
  private readonly exploreCache: ExploreCache = new Map();

  constructor(private readonly parser: CParser, private readonly options: WorkspaceOptions = {}) {}

  /** Sets a file's whole text (parsed from scratch). */
  setFile(path: string, text: string): void {
    this.files.get(path)?.tree?.delete();
    this.files.set(path, this.load(path, text));
  }

  /** Applies LSP-style edits to a file's text, re-parsing incrementally from the old tree. */
  applyChanges(path: string, changes: readonly TextChange[]): string {
    const state = this.files.get(path);
    if (!state) throw new Error(`lockpath: ${path} is not open`);
    if (!state.tree) {
      let text = state.text;
      for (const c of changes) text = applyChange(text, c);
      this.setFile(path, text);
      return text;
    }
    let text = state.text;
    for (const c of changes) text = applyChange(text, c, state.tree);
    const old = state.tree;
    const next = this.load(path, text, old);
    old.delete();
    this.files.set(path, next);
    return text;
  }

  removeFile(path: string): void {
    this.files.get(path)?.tree?.delete();
    this.files.delete(path);
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  text(path: string): string | undefined {
    return this.files.get(path)?.text;
  }

  paths(): string[] {
    return [...this.files.keys()].sort();
  }

  dispose(): void {
    for (const f of this.files.values()) f.tree?.delete();
    this.files.clear();
  }

  private load(path: string, text: string, oldTree?: Tree): FileState {
    const limit = this.options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (text.length > limit) {
      return { text, skipped: skipNote(path, `skipped: ${text.length} characters is over the ${limit} limit (setting lockpath.maxFileSize)`) };
    }
    const nul = text.indexOf('\0');
    if (nul >= 0) {
      const line = text.slice(0, nul).split('\n').length - 1;
      return { text, skipped: { ...skipNote(path, 'skipped: binary file (NUL byte)'), at: { line, column: 0, endLine: line, endColumn: 0 } } };
    }
    try {
      return { text, tree: this.parser.parse(text, oldTree) };
    } catch (e) {
      return { text, skipped: skipNote(path, `skipped: ${(e as Error).message}`) };
    }
  }

  /** Facts for every file, re-indexing only files whose text or model changed. */
  facts(model: Model): FileFacts[] {
    const out: FileFacts[] = [];
    for (const [path, state] of [...this.files].sort(([a], [b]) => a.localeCompare(b))) {
      if (!state.tree) continue;
      if (!state.facts || state.factsModel !== model.id + model.source) {
        state.facts = safeIndex(path, state.tree, model);
        state.factsModel = model.id + model.source;
      }
      out.push(state.facts);
    }
    return out;
  }

  private chooseModel(): { model: Model; reason: string } {
    const fixed = this.options.model;
    if (fixed) return { model: fixed, reason: fixed.source === 'built-in' ? 'given' : `base ${fixed.id}, from the model file ${fixed.source}` };
    const chosen = chooseModel(this.files);
    const overlay = this.options.overlay;
    if (!overlay) return chosen;
    return { model: applyModelFile(chosen.model, overlay.file, overlay.source), reason: `${chosen.reason}; adjusted by the model file ${overlay.source}` };
  }

  analyze(): Analysis {
    const started = performance.now();
    const { model, reason } = this.chooseModel();
    const files = this.facts(model);
    const graph = new CallGraph(files, model);
    const limitsForChains = this.options.chainLimits ?? defaultChainLimits;
    const derived = findEntries(graph, model);
    const fromTree = enumerateChains(graph, derived, model, limitsForChains);
    const reached = new Set(fromTree.chains.flatMap((c) => c.path));
    const builtin = builtinEntries(graph, model, reached, derived);
    const fromTable = enumerateChains(graph, builtin, model, limitsForChains);
    const entries = [...derived, ...builtin];
    const chains = [...fromTree.chains, ...fromTable.chains].sort(compareChains);
    const truncated = [...fromTree.truncated, ...fromTable.truncated];
    const actors = buildActors(graph, model);
    const simulations: EntrySimulation[] = [];
    const results: ChainResult[] = [];
    const findings: Finding[] = [];
    const limits = { ...defaultSimulationLimits, ...(this.options.maxStates ? { maxStates: this.options.maxStates } : {}) };
    for (const entry of entries) {
      const own = chains.filter((c) => c.entry === entry);
      if (!own.length) continue;
      const sim = simulateEntry(graph, model, entry, actors, limits, this.exploreCache);
      simulations.push(sim);
      const verdicts = chainVerdicts(model, sim, own);
      for (const c of own) results.push({ chain: c, verdict: verdicts.get(c)! });
      findings.push(...buildFindings(model, sim.program, verdicts));
    }
    results.sort((a, b) => chains.indexOf(a.chain) - chains.indexOf(b.chain));
    const problems: Problem[] = [
      ...[...this.files.values()].flatMap((f) => (f.skipped ? [f.skipped] : [])),
      ...files.flatMap((f) => f.problems),
      ...truncated.map((t) => ({ file: '', at: zeroSpan, severity: 'warning' as const, message: `lockpath: chains from ${t.entry} were cut off (${t.reason})` })),
    ];
    const contextChecks = checkContexts(model, contextsThrough(chains), entries);
    for (const c of contextChecks.filter((x) => !x.agrees)) {
      const fn = graph.lookup(c.hook);
      problems.push({ file: fn?.file ?? '', at: fn?.nameSpan ?? zeroSpan, severity: 'warning', message: `lockpath: the built-in model says ${c.hook} runs as ${c.builtin}, but the tree reaches it only from ${c.derived.join(', ')}` });
    }
    return {
      model,
      modelReason: reason,
      files,
      graph,
      entries,
      actors,
      simulations,
      chains: results,
      findings: findings.sort((a, b) => a.file.localeCompare(b.file) || a.at.line - b.at.line || a.id.localeCompare(b.id)),
      problems,
      contextChecks,
      stats: {
        files: files.length,
        functions: files.reduce((n, f) => n + f.functions.length, 0),
        chains: chains.length,
        states: simulations.reduce((n, s) => n + s.runs.reduce((m, r) => m + r.result.states, 0), 0),
        ms: performance.now() - started,
      },
    };
  }
}

const zeroSpan = { line: 0, column: 0, endLine: 0, endColumn: 0 };

function skipNote(file: string, message: string): Problem {
  return { file, at: zeroSpan, severity: 'info', message: `lockpath: ${message}` };
}

/** Indexing must never take the whole analysis down: a failure becomes a problem on that file. */
function safeIndex(path: string, tree: Tree, model: Model): FileFacts {
  try {
    return indexTree(path, tree, model);
  } catch (e) {
    return { file: path, functions: [], tables: [], tableReturns: [], macros: [], problems: [{ file: path, at: zeroSpan, severity: 'error', message: `lockpath: internal error while indexing: ${(e as Error).message}` }] };
  }
}
