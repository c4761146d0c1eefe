// The pipeline in one place: texts -> trees -> per-file facts -> call graph -> entries -> chains -> simulation ->
// findings. A Workspace keeps each file's text, tree and facts, re-parses incrementally on edits, and re-indexes
// only files that changed. It knows nothing of LSP, URIs or terminals.
import { CallGraph } from './callgraph/graph';
import {
  compareChains,
  contextsThrough,
  enumerateChains,
  type Chain,
  type ChainLimits,
  defaultChainLimits,
} from './chains/chains';
import { builtinEntries, checkContexts, findEntries, type ContextCheck, type Entry } from './contexts/entries';
import { buildFindings, type Finding } from './findings/findings';
import { generatedReason } from './generated';
import type { FileFacts, Problem } from './index/facts';
import { indexText, parseOrSkip, safeIndex, skipNote, zeroSpan } from './index/job';
import { indexJobs } from './index/parallel';
import { chooseModel } from './model/choose';
import { applyModelFile, type ModelFile } from './model/loader';
import type { Model } from './model/types';
import { applyChange, type CParser, type TextChange, type Tree } from './parse/parser';
import { contentHash } from './content-hash';
import { positionOf } from './base/lines';
import { spliceFacts } from './splice';
import { headerDefines, treeDefines } from './index/config';
import { buildActors, type TeardownActor } from './simulate/actors';
import { ProgramCache } from './simulate/programs';
import {
  chainVerdicts,
  ExploreCache,
  simulateEntry,
  type ChainVerdict,
  type EntrySimulation,
  type ExploreStore,
  defaultSimulationLimits,
} from './simulate/simulate';

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
  /** states: of every exploration the verdicts rest on; searchesStored: how many of those came from the store. */
  stats: {
    files: number;
    functions: number;
    chains: number;
    states: number;
    searches: number;
    searchesStored: number;
    ms: number;
  };
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
  indexCache?: IndexCache;
  /** Where explorations can be kept between runs (keyed by program structure, limits, lock and context). */
  exploreStore?: ExploreStore;
  /** After an edit inside one function, re-index only that function (default); false re-indexes the whole file. */
  reindexEditedFunctionOnly?: boolean;
  /** Threads for cold indexing: 1 (the default) or 2, this one and a helper worker (index/parallel.ts). */
  indexThreads?: number;
}

interface FileState {
  text: string;
  /** Parsed on demand: a warm start that finds the facts in the index cache never parses. */
  tree?: Tree;
  facts?: FileFacts;
  factsModel?: string;
  /** The model the facts were indexed with (for re-indexing one function after an edit). */
  indexedWith?: Model;
  skipped?: Problem;
  /** Edited, or open in an editor (keepTree): its tree is kept after indexing, for incremental parsing. */
  keepTree?: boolean;
  /** Changes whenever the facts change other than in positions (see ProgramCache). */
  shape?: number;
  /** A header's unconditional macros (index/config.ts), read once per text. */
  defines?: readonly string[];
}

/** Where indexed facts can be kept between runs (the CLI keeps them on disk). */
export interface IndexCache {
  get(key: string): FileFacts | undefined;
  put(key: string, facts: FileFacts): void;
}

/** Bumped whenever the shape or meaning of FileFacts changes, so old cache entries are never read. */
export const INDEX_FORMAT = 6;

export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;

export class Workspace {
  private readonly files = new Map<string, FileState>();
  private readonly exploreCache: ExploreCache;
  private readonly programCache = new ProgramCache();
  private shapes = 0;
  /** Facts objects that stand for older ones since the last analysis, when the shape was kept (see Spliced). */
  private renamed = new Map<object, object>();

  constructor(
    private readonly parser: CParser,
    private readonly options: WorkspaceOptions = {},
  ) {
    this.exploreCache = new ExploreCache(options.exploreStore);
  }

  /** Sets a file's whole text (parsed when first needed). */
  setFile(path: string, text: string): void {
    const keepTree = this.files.get(path)?.keepTree;
    this.files.get(path)?.tree?.delete();
    this.files.set(path, { text, skipped: this.precheck(path, text), keepTree });
  }

  /**
   * Keeps the file's tree after indexing (a cold index lets trees go): a file open in an editor will be edited, and
   * its first edit should be parsed incrementally and re-index only the function it touches.
   */
  keepTree(path: string): void {
    const state = this.files.get(path);
    if (state) state.keepTree = true;
  }

  /** Applies LSP-style edits to a file's text, re-parsing incrementally from the old tree when there is one, and
   *  re-indexing only the edited function when the edit stays inside one. */
  applyChanges(path: string, changes: readonly TextChange[]): string {
    const state = this.files.get(path);
    if (!state) throw new Error(`lockpath: ${path} is not open`);
    let text = state.text;
    for (const c of changes) text = applyChange(text, c, state.tree);
    const next: FileState = { text, skipped: this.precheck(path, text), keepTree: true };
    if (state.tree && !next.skipped) next.tree = this.parse(path, next, state.tree);
    if (
      state.tree &&
      next.tree &&
      state.facts &&
      state.indexedWith &&
      !next.skipped &&
      this.options.reindexEditedFunctionOnly !== false
    ) {
      const spliced = spliceFacts({
        file: path,
        oldText: state.text,
        newText: text,
        oldTree: state.tree,
        newTree: next.tree,
        oldFacts: state.facts,
        model: state.indexedWith,
        parser: this.parser,
      });
      if (spliced) {
        Object.assign(next, {
          facts: spliced.facts,
          factsModel: state.factsModel,
          indexedWith: state.indexedWith,
          shape: spliced.sameShape ? state.shape : ++this.shapes,
        });
        for (const [was, now] of spliced.renamed) this.renamed.set(was, now);
      }
    }
    state.tree?.delete();
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

  /** Files the analysis will not parse: too large, binary, or generated. */
  private precheck(path: string, text: string): Problem | undefined {
    const limit = this.options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (text.length > limit)
      return skipNote(
        path,
        `skipped: ${text.length} characters is over the ${limit} limit (setting lockpath.maxFileSize)`,
      );
    const nul = text.indexOf('\0');
    if (nul >= 0) {
      const { line } = positionOf(text, nul);
      return {
        ...skipNote(path, 'skipped: binary file (NUL byte)'),
        at: { line, column: 0, endLine: line, endColumn: 0 },
      };
    }
    const generated = generatedReason(path, text);
    if (generated) return skipNote(path, `skipped: generated file (${generated})`);
    return undefined;
  }

  private parse(path: string, state: FileState, oldTree?: Tree): Tree | undefined {
    const tree = parseOrSkip(this.parser, path, state.text, oldTree);
    if ('rootNode' in tree) return tree;
    state.skipped = tree;
    return undefined;
  }

  /**
   * Facts for every file, re-indexing only files whose text or model changed. Files that keep their trees (edited or
   * open) are indexed here; the others are parsed, indexed and let go (on two threads if asked).
   */
  facts(model: Model): FileFacts[] {
    const modelKey = indexingKey(model);
    const cache = this.options.indexCache;
    const files = [...this.files].sort(([a], [b]) => a.localeCompare(b));
    const done = (state: FileState, key: string, facts: FileFacts): void => {
      state.facts = facts;
      state.shape = ++this.shapes;
      state.factsModel = modelKey;
      state.indexedWith = model;
      cache?.put(key, facts);
    };
    const cold: { path: string; state: FileState; key: string }[] = [];
    for (const [path, state] of files) {
      if (state.skipped || (state.facts && state.factsModel === modelKey)) continue;
      // Without an index cache there is nothing to key: the text is not hashed.
      const key = cache ? `${INDEX_FORMAT}|${modelKey}|${path}|${contentHash(state.text)}` : '';
      const cached = cache?.get(key);
      if (cached) {
        state.facts = cached;
        state.shape = ++this.shapes;
        state.indexedWith = model;
        state.factsModel = modelKey;
      } else if (!state.keepTree) cold.push({ path, state, key });
      else {
        state.tree ??= this.parse(path, state);
        if (state.tree) done(state, key, safeIndex(this.parser, path, state.tree, state.text, model));
      }
    }
    const threads = this.options.indexThreads ?? 1;
    const results = indexJobs(
      cold.map(({ path, state }) => ({ path, text: state.text })),
      model,
      threads,
      (job) => indexText(this.parser, job.path, job.text, model),
    );
    cold.forEach(({ state, key }, i) => {
      const r = results[i];
      if ('skipped' in r) state.skipped = r.skipped;
      else done(state, key, r.facts);
    });
    return files.flatMap(([, s]) => (!s.skipped && s.facts ? [s.facts] : []));
  }

  /** What the facts say apart from positions, with the model read: equal keys, equal call graphs and programs. */
  private shapeKey(model: Model): string {
    let id = modelIds.get(model);
    if (id === undefined) modelIds.set(model, (id = ++modelCount));
    let key = `${id}`;
    for (const [path, state] of this.files) if (state.facts && !state.skipped) key += `|${path}:${state.shape}`;
    return key;
  }

  /** Programs kept and compiled so far (the tests count them). */
  programStats(): { hits: number; misses: number } {
    return { hits: this.programCache.hits, misses: this.programCache.misses };
  }

  private chooseModel(): { model: Model; reason: string } {
    const fixed = this.options.model;
    if (fixed)
      return {
        model: fixed,
        reason: fixed.source === 'built-in' ? 'given' : `base ${fixed.id}, from the model file ${fixed.source}`,
      };
    const chosen = chooseModel(this.files);
    const overlay = this.options.overlay;
    if (!overlay) return chosen;
    return {
      model: applyModelFile(chosen.model, overlay.file, overlay.source),
      reason: `${chosen.reason}; adjusted by the model file ${overlay.source}`,
    };
  }

  private treeModel?: { base: Model; key: string; model: Model };

  /** The model with the macros the tree's headers define fixed defined (the model's own config wins); kept while
   *  they stay the same, so caches keyed by the model keep working. */
  private withTreeDefines(base: Model): Model {
    const defines = treeDefines(this.paths(), (p) => {
      const state = this.files.get(p)!;
      return state.skipped ? [] : (state.defines ??= headerDefines(state.text));
    });
    const key = defines.join(' ');
    if (this.treeModel?.base === base && this.treeModel.key === key) return this.treeModel.model;
    const model = defines.length
      ? { ...base, config: { ...Object.fromEntries(defines.map((d) => [d, true])), ...base.config } }
      : base;
    this.treeModel = { base, key, model };
    return model;
  }

  analyze(): Analysis {
    const started = performance.now();
    const storedBefore = this.exploreCache.fromStore;
    const chosen = this.chooseModel();
    const model = this.withTreeDefines(chosen.model);
    const reason = chosen.reason;
    const files = this.facts(model);
    this.programCache.begin(
      this.shapeKey(model),
      files.flatMap((f) => f.functions),
      this.renamed,
    );
    this.renamed = new Map();
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
    const limits = {
      ...defaultSimulationLimits,
      ...(this.options.maxStates ? { maxStates: this.options.maxStates } : {}),
    };
    for (const entry of entries) {
      const own = chains.filter((c) => c.entry === entry);
      if (!own.length) continue;
      const sim = simulateEntry(graph, model, entry, actors, limits, this.exploreCache, this.programCache);
      simulations.push(sim);
      const verdicts = chainVerdicts(model, sim, own);
      for (const c of own) results.push({ chain: c, verdict: verdicts.get(c)! });
      findings.push(...buildFindings(model, sim.program, verdicts));
    }
    results.sort((a, b) => chains.indexOf(a.chain) - chains.indexOf(b.chain));
    const problems: Problem[] = [
      ...[...this.files.values()].flatMap((f) => (f.skipped ? [f.skipped] : [])),
      ...files.flatMap((f) => f.problems),
      ...truncated.map((t) => ({
        file: '',
        at: zeroSpan,
        severity: 'warning' as const,
        message: `lockpath: chains from ${t.entry} were cut off (${t.reason})`,
      })),
    ];
    // Names a model file gives that the tree does not define are most likely typos: say so.
    for (const hook of model.hooks.filter((h) => h.origin && !graph.isDefined(h.function))) {
      problems.push({
        file: hook.origin!,
        at: zeroSpan,
        severity: 'warning',
        message: `lockpath: the model file names hook ${hook.function}, which the indexed files do not define`,
      });
    }
    if (model.source !== 'built-in' && !graph.isDefined(model.freeFunction)) {
      problems.push({
        file: model.source,
        at: zeroSpan,
        severity: 'warning',
        message: `lockpath: the free function ${model.freeFunction} is not defined in the indexed files: no chain can be shown safe or racy`,
      });
    }
    const contextChecks = checkContexts(model, contextsThrough(chains), entries);
    for (const c of contextChecks.filter((x) => !x.agrees)) {
      const fn = graph.lookup(c.hook);
      problems.push({
        file: fn?.file ?? '',
        at: fn?.nameSpan ?? zeroSpan,
        severity: 'warning',
        message: `lockpath: the built-in model says ${c.hook} runs as ${c.builtin}, but the tree reaches it only from ${c.derived.join(', ')}`,
      });
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
      findings: findings.sort(
        (a, b) => a.file.localeCompare(b.file) || a.at.line - b.at.line || a.id.localeCompare(b.id),
      ),
      problems,
      contextChecks,
      stats: {
        files: files.length,
        functions: files.reduce((n, f) => n + f.functions.length, 0),
        chains: chains.length,
        states: simulations.reduce((n, s) => n + s.runs.reduce((m, r) => m + r.result.states, 0), 0),
        searches: simulations.reduce((n, s) => n + s.runs.length, 0),
        searchesStored: this.exploreCache.fromStore - storedBefore,
        ms: performance.now() - started,
      },
    };
  }
}

/** Models by identity, for shape keys (a model read again from its file is a new one: nothing is reused across). */
const modelIds = new WeakMap<Model, number>();
let modelCount = 0;

/** What of the model the indexer reads: facts indexed under one key are valid under the same key. */
function indexingKey(model: Model): string {
  return contentHash(
    JSON.stringify([
      model.resource,
      model.lockOps,
      model.freeCalls,
      model.sleepCalls,
      model.blockability,
      model.config ?? {},
      model.kernelConfig ?? '',
    ]),
  );
}

/** A note that a file was not analysed at all. Unlike parse notes (also info) it is always shown: the user must
 *  know a file they look at is not covered. Recognised by its words because problems cross the worker boundary
 *  as plain data. */
export function isSkipNote(p: Problem): boolean {
  return p.severity === 'info' && p.message.startsWith('lockpath: skipped: ');
}
