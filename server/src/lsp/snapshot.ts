// What one analysis leaves for the editor features: plain data (it crosses from the analysis worker to the LSP
// thread by structured clone), with the per-hop facts the features need already worked out: each chain's
// definitions and the locks held on entering each function, each call site's targets, the fixes of each finding.
// Positions are the analysis's: 0-based line/column in UTF-16 units, in the text of the version named in
// `versions`.
import type { Analysis, Finding, Span, WitnessStep } from '../analysis';
import type { Fix } from '../analysis/fixes';
import { entryName, viaName } from '../analysis/findings/findings';
import type { Problem } from '../analysis/index/facts';
import { contextLabel } from '../analysis/model/types';
import { findingJson, type FindingJson } from '../report/json';

export interface FnRef {
  name: string;
  file: string;
  nameSpan: Span;
}

export interface FnView extends FnRef {
  span: Span;
  returnType: string;
  calls: {
    at: Span;
    /** What the call resolves to statically (direct, through parameters, tables, ops fields). */
    targets: { name: string; file: string; via: string }[];
    locksHeld: string[];
  }[];
  uses: { kind: 'read' | 'deref' | 'guard' | 'write' | 'free'; at: Span; locksHeld: string[] }[];
  touchesRoot: boolean;
}

export interface HopView {
  function: string;
  file: string;
  line: number;
  column: number;
  via: string;
}

export interface ChainView {
  id: string;
  context: string;
  contextLabel: string;
  /** The hook people name the chain by (kvm_age_hva), and how the core enters (clear_young). */
  hook: string;
  via: string;
  entry: { name: string; file: string; via: string; derived: boolean; at: Span };
  path: string[];
  /** The definition of each function on the path (undefined when it could not be resolved). */
  defs: (FnRef | undefined)[];
  hops: HopView[];
  /** Locks held on entering path[i]: the core's, then every call site's on the way (lock names). */
  locksAt: string[][];
  locks: string[];
  guards: { function: string; file: string; line: number }[];
  walker: FnRef;
  verdict: 'race' | 'safe' | 'inconclusive';
  reason: string;
  assumptions: string[];
  findings: string[];
}

export interface FindingView {
  id: string;
  class: string;
  title: string;
  kind: string;
  severity: 'error' | 'warning';
  message: string;
  file: string;
  at: Span;
  function: string;
  chainId: string;
  hook: string;
  via: string;
  context: string;
  contextLabel: string;
  teardown: string[];
  witness: WitnessStep[];
  freeSide?: WitnessStep;
  alsoAt: { file: string; at: Span; function: string }[];
  /** The finding in the report's JSON shape (what the race-timeline drawing reads). */
  json: FindingJson;
}

export interface ModelView {
  id: string;
  source: string;
  reason: string;
  resource: string;
  /** The resource's last field (pgd), for short texts. */
  resourceShort: string;
  lock: string;
  lockDisplay: string;
  freeFunction: string;
  contexts: Record<string, string>;
  assumptions: { id: string; enabled: boolean; description: string }[];
}

export interface Snapshot {
  /** The analysis request this answers. */
  seq: number;
  /** Versions of the editor documents it saw (key -> LSP version). */
  versions: Record<string, number>;
  /** Every file key it analysed. */
  files: string[];
  /** The text of every file it analysed, as textHash (SHA-256): the editor side checks currency with it. */
  hashes: Record<string, string>;
  model: ModelView;
  functions: FnView[];
  chains: ChainView[];
  findings: FindingView[];
  fixes: Record<string, Fix[]>;
  problems: Problem[];
  stats: Analysis['stats'];
  /** Anything that went wrong outside the analysis proper (fixes that threw). */
  notes: string[];
}

/**
 * What diagnostics need, sent ahead of the whole snapshot so that they are published without waiting for the data
 * of lenses, hovers and fixes: the findings, the chains they lie on, the problems, and what says which texts.
 */
export type DiagnosticsPart = Pick<
  Snapshot,
  'seq' | 'versions' | 'hashes' | 'findings' | 'chains' | 'problems' | 'stats'
>;

export function buildDiagnosticsPart(
  a: Analysis,
  seq: number,
  versions: Record<string, number>,
  hashes: Record<string, string>,
): DiagnosticsPart {
  const onFindings = new Set(a.findings.map((f) => f.chain.id));
  return {
    seq,
    versions,
    hashes,
    findings: findingViews(a),
    chains: chainViews(
      a,
      a.chains.filter((c) => onFindings.has(c.chain.id)),
    ),
    problems: a.problems,
    stats: a.stats,
  };
}

const ref = (fn: { name: string; file: string; nameSpan: Span }): FnRef => ({
  name: fn.name,
  file: fn.file,
  nameSpan: fn.nameSpan,
});

/** `part`: the diagnostics part already built from this analysis (its finding views are reused). */
export function buildSnapshot(
  a: Analysis,
  seq: number,
  versions: Record<string, number>,
  hashes: Record<string, string>,
  fixesOf: (f: Finding) => Fix[],
  part?: DiagnosticsPart,
): Snapshot {
  const notes: string[] = [];
  const functions: FnView[] = [];
  for (const file of a.files) {
    for (const fn of file.functions) {
      functions.push({
        ...ref(fn),
        span: fn.span,
        returnType: fn.returnType,
        touchesRoot: fn.touchesRoot,
        calls: fn.calls.map((site) => ({
          at: site.at,
          targets: a.graph.staticTargets(fn, site).map((t) => ({ name: t.fn.name, file: t.fn.file, via: t.via })),
          locksHeld: site.locksHeld,
        })),
        uses: fn.uses.map((u) => ({ kind: u.kind, at: u.at, locksHeld: u.locksHeld })),
      });
    }
  }
  const chains = chainViews(a, a.chains);
  const findings = part?.findings ?? findingViews(a);

  const fixes: Record<string, Fix[]> = {};
  for (const f of a.findings) {
    try {
      fixes[f.id] = fixesOf(f);
    } catch (e) {
      notes.push(`fixes for ${f.id} failed: ${(e as Error).stack ?? e}`);
      fixes[f.id] = [];
    }
  }

  const m = a.model;
  return {
    seq,
    versions,
    files: a.files.map((f) => f.file),
    hashes,
    model: {
      id: m.id,
      source: m.source,
      reason: a.modelReason,
      resource: m.resource.display,
      resourceShort: m.resource.fieldPath[m.resource.fieldPath.length - 1] ?? m.resource.display,
      lock: m.lock.name,
      lockDisplay: m.lock.display,
      freeFunction: m.freeFunction,
      contexts: Object.fromEntries(m.contexts.map((c) => [c.id, c.label])),
      assumptions: m.assumptions.map((x) => ({ id: x.id, enabled: x.enabled, description: x.description })),
    },
    functions,
    chains,
    findings,
    fixes,
    problems: a.problems,
    stats: a.stats,
    notes,
  };
}

function chainViews(a: Analysis, results: Analysis['chains']): ChainView[] {
  const findingsOfChain = new Map<string, string[]>();
  for (const f of a.findings) findingsOfChain.set(f.chain.id, [...(findingsOfChain.get(f.chain.id) ?? []), f.id]);
  return results.map(({ chain, verdict }) => {
    const defs: (FnRef | undefined)[] = [ref(chain.entry.fn)];
    const locksAt: string[][] = [[...chain.entry.locksHeld]];
    let prev: { file: string; calls: typeof chain.entry.fn.calls } | undefined = chain.entry.fn;
    for (let i = 1; i < chain.path.length; i++) {
      const hop = chain.hops[i];
      const site = prev?.calls.find((s) => s.at.line === hop.line && s.at.column === hop.column);
      locksAt.push([...new Set([...locksAt[i - 1], ...(site?.locksHeld ?? [])])]);
      const def = a.graph.lookup(chain.path[i], prev?.file);
      defs.push(def ? ref(def) : undefined);
      prev = def;
    }
    return {
      id: chain.id,
      context: chain.context,
      contextLabel: contextLabel(a.model, chain.context),
      hook: entryName(a.model, chain),
      via: viaName(chain),
      entry: {
        name: chain.entry.fn.name,
        file: chain.entry.file,
        via: chain.entry.via,
        derived: chain.entry.derived,
        at: chain.entry.at,
      },
      path: chain.path,
      defs,
      hops: chain.hops.map((h) => ({ ...h })),
      locksAt,
      locks: chain.locks,
      guards: chain.guards,
      walker: ref(chain.walker),
      verdict: verdict.verdict,
      reason: verdict.reason,
      assumptions: verdict.assumptions,
      findings: findingsOfChain.get(chain.id) ?? [],
    };
  });
}

function findingViews(a: Analysis): FindingView[] {
  return a.findings.map((f) => ({
    id: f.id,
    class: f.class,
    title: f.title,
    kind: f.kind,
    severity: f.severity,
    message: f.message,
    file: f.file,
    at: f.at,
    function: f.function,
    chainId: f.chain.id,
    hook: entryName(a.model, f.chain),
    via: viaName(f.chain),
    context: f.chain.context,
    contextLabel: contextLabel(a.model, f.chain.context),
    teardown: f.teardown,
    witness: f.witness,
    freeSide: f.freeSide,
    alsoAt: f.alsoAt,
    json: findingJson(a, f),
  }));
}
