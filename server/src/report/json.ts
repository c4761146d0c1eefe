// The stable, documented JSON shape (docs/json-shape.md) that the editor, CI and scripts read. Lines and columns
// here are 1-based, as in compiler messages and SARIF; the analysis itself counts from 0.
import type { Analysis } from '../analysis/workspace';
import type { Finding, WitnessStep } from '../analysis/findings/findings';
import { entryName, viaName } from '../analysis/findings/findings';
import type { Chain } from '../analysis/chains/chains';
import { contextLabel } from '../analysis/model/types';
import { noOutcome, type CheckOutcome, type Incomplete } from './incomplete';

/** 2: `findings` leaves out suppressed findings (listed in `suppressed`); `incomplete` and `complete` added. */
export const JSON_SHAPE_VERSION = 2;

export interface HopJson {
  function: string;
  file: string;
  line: number;
  column: number;
  via: string;
}

export interface ChainJson {
  id: string;
  entry: string;
  via: string;
  /** The first model hook on the path (kvm_age_hva), which is how people name the chain. */
  hook: string;
  entryDerived: boolean;
  context: string;
  contextLabel: string;
  path: string[];
  hops: HopJson[];
  locks: string[];
  guards: { function: string; file: string; line: number }[];
  verdict: 'race' | 'safe' | 'inconclusive';
  reason: string;
  assumptions: string[];
}

export interface StepJson {
  thread: string;
  lane: number;
  action: string;
  function: string;
  file: string;
  line: number;
  column: number;
  locks: string[];
  hazard?: boolean;
}

export interface FindingJson {
  id: string;
  class: string;
  title: string;
  kind: string;
  severity: 'error' | 'warning';
  message: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  function: string;
  entry: string;
  via: string;
  hook: string;
  context: string;
  teardown: string[];
  chain: HopJson[];
  chainId: string;
  witness: StepJson[];
  freeSide?: StepJson;
}

export interface ReportJson {
  lockpath: { version: string; shape: number };
  model: {
    id: string;
    source: string;
    reason: string;
    description: string;
    assumptions: { id: string; enabled: boolean; description: string }[];
  };
  files: string[];
  summary: {
    files: number;
    functions: number;
    chains: number;
    races: number;
    safe: number;
    inconclusive: number;
    findings: number;
    suppressed: number;
    complete: boolean;
    statesExplored: number;
    chainsPerContext: Record<string, number>;
  };
  chains: ChainJson[];
  findings: FindingJson[];
  /** Findings an ignore comment or the model file's reviewed list suppressed: not counted as races. */
  suppressed: (FindingJson & {
    reason: string;
    by: 'comment' | 'reviewed';
    commentFile?: string;
    commentLine?: number;
  })[];
  /** Everything the run did not check, and why; empty when it checked everything. */
  incomplete: Incomplete[];
  contextChecks: { hook: string; builtin: string; derived: string[]; agrees: boolean }[];
  problems: { file: string; line: number; column: number; severity: string; message: string }[];
}

export function hopsJson(chain: Chain): HopJson[] {
  return chain.hops.map((h) => ({
    function: h.function,
    file: h.file,
    line: h.line + 1,
    column: h.column + 1,
    via: h.via,
  }));
}

export function stepJson(s: WitnessStep): StepJson {
  return {
    thread: s.thread,
    lane: s.lane,
    action: s.action,
    function: s.function,
    file: s.file,
    line: s.at.line + 1,
    column: s.at.column + 1,
    locks: s.locks,
    ...(s.hazard ? { hazard: true } : {}),
  };
}

export function findingJson(a: Pick<Analysis, 'model'>, f: Finding): FindingJson {
  return {
    id: f.id,
    class: f.class,
    title: f.title,
    kind: f.kind,
    severity: f.severity,
    message: f.message,
    file: f.file,
    line: f.at.line + 1,
    column: f.at.column + 1,
    endLine: f.at.endLine + 1,
    endColumn: f.at.endColumn + 1,
    function: f.function,
    entry: f.chain.entry.fn.name,
    via: f.chain.entry.via,
    hook: entryName(a.model, f.chain),
    context: f.chain.context,
    teardown: f.teardown,
    chain: hopsJson(f.chain),
    chainId: f.chain.id,
    witness: f.witness.map(stepJson),
    ...(f.freeSide ? { freeSide: stepJson(f.freeSide) } : {}),
  };
}

export function reportJson(a: Analysis, version: string, outcome: CheckOutcome = noOutcome): ReportJson {
  const chains: ChainJson[] = a.chains.map(({ chain, verdict }) => ({
    id: chain.id,
    entry: chain.entry.fn.name,
    via: chain.entry.via,
    hook: entryName(a.model, chain),
    entryDerived: chain.entry.derived,
    context: chain.context,
    contextLabel: contextLabel(a.model, chain.context),
    path: chain.path,
    hops: hopsJson(chain),
    locks: chain.locks,
    guards: chain.guards.map((g) => ({ ...g, line: g.line + 1 })),
    verdict: verdict.verdict,
    reason: verdict.reason,
    assumptions: verdict.assumptions,
  }));
  const perContext: Record<string, number> = {};
  for (const c of chains) perContext[c.context] = (perContext[c.context] ?? 0) + 1;
  return {
    lockpath: { version, shape: JSON_SHAPE_VERSION },
    model: {
      id: a.model.id,
      source: a.model.source,
      reason: a.modelReason,
      description: a.model.description,
      assumptions: a.model.assumptions.map((x) => ({ id: x.id, enabled: x.enabled, description: x.description })),
    },
    files: a.files.map((f) => f.file),
    summary: {
      files: a.stats.files,
      functions: a.stats.functions,
      chains: chains.length,
      races: chains.filter((c) => c.verdict === 'race').length,
      safe: chains.filter((c) => c.verdict === 'safe').length,
      inconclusive: chains.filter((c) => c.verdict === 'inconclusive').length,
      findings: a.findings.length,
      suppressed: outcome.suppressed.length,
      complete: outcome.incomplete.length === 0,
      statesExplored: a.stats.states,
      chainsPerContext: perContext,
    },
    chains,
    findings: a.findings.map((f) => findingJson(a, f)),
    suppressed: outcome.suppressed.map((s) => ({
      ...findingJson(a, s.finding),
      reason: s.reason,
      by: s.by,
      ...(s.comment ? { commentFile: s.comment.file, commentLine: s.comment.line + 1 } : {}),
    })),
    incomplete: outcome.incomplete,
    contextChecks: a.contextChecks,
    problems: a.problems.map((p) => ({
      file: p.file,
      line: p.at.line + 1,
      column: p.at.column + 1,
      severity: p.severity,
      message: p.message,
    })),
  };
}

export { viaName };
