// What a run did not check, and why: the difference between "no race found" and "no race". Exit 0 needs this list
// empty; every report says what is on it.
import { isSkipNote, type Analysis } from '../analysis/workspace';
import { entryName } from '../analysis/findings/findings';
import type { Suppressed } from '../analysis/findings/suppress';

export type IncompleteKind =
  /** A chain got no verdict (search bound, no free path in the indexed code, ...): `reason` says which. */
  | 'inconclusive-chain'
  /** An entry's interleaving search stopped at --max-states (its chains may still have found races). */
  | 'search-bound'
  /** More chains from one entry than the chain limits allow: the rest were not enumerated. */
  | 'chains-cut-off'
  /** A file or folder in scope that was not read (too large, binary, generated, unreadable, a link loop). */
  | 'skipped'
  /** A file that was read but could not be indexed. */
  | 'not-analysed'
  /** The tree names no stage-2 root a model knows. */
  | 'no-resource'
  /** No chain reaches the root: nothing was checked. */
  | 'no-chains';

export interface Incomplete {
  kind: IncompleteKind;
  reason: string;
  file?: string;
  /** inconclusive-chain: the chain's id and how people name it (its first hook). */
  chain?: string;
  hook?: string;
  /** search-bound, chains-cut-off: the entry. */
  entry?: string;
}

export function incompleteness(a: Analysis): Incomplete[] {
  const out: Incomplete[] = [];
  if (a.modelReason.startsWith('default:'))
    out.push({
      kind: 'no-resource',
      reason: `no stage-2 root recognised: ${a.modelReason.replace(/^default:\s*/, '')}`,
    });
  if (!a.chains.length)
    out.push({ kind: 'no-chains', reason: `no call chain reaches ${a.model.resource.display}: nothing was checked` });
  for (const p of a.problems) {
    if (isSkipNote(p))
      out.push({ kind: 'skipped', file: p.file, reason: p.message.replace(/^lockpath: skipped: /, '') });
    else if (p.severity === 'error' && p.file !== a.model.source)
      out.push({ kind: 'not-analysed', file: p.file, reason: p.message.replace(/^lockpath: /, '') });
    else if (/^lockpath: chains from .* were cut off/.test(p.message))
      out.push({
        kind: 'chains-cut-off',
        entry: /chains from (.*) were cut off/.exec(p.message)![1],
        reason: p.message.replace(/^lockpath: /, ''),
      });
  }
  for (const s of a.simulations) {
    const stopped = s.runs.filter((r) => !r.result.complete);
    if (!stopped.length && !s.program.truncated) continue;
    const why = s.program.truncated
      ? 'its program was cut off at the inlining limit (calls nested too deep or too many steps)'
      : `the interleaving search stopped at its bound against ${stopped.map((r) => r.actor.path.label).join(' and ')}; raise --max-states to decide`;
    out.push({ kind: 'search-bound', entry: `${s.entry.fn.name} (${s.entry.via})`, reason: why });
  }
  for (const { chain, verdict } of a.chains) {
    if (verdict.verdict === 'inconclusive')
      out.push({
        kind: 'inconclusive-chain',
        chain: chain.id,
        hook: entryName(a.model, chain),
        reason: verdict.reason,
      });
  }
  return out;
}

/** One line per item, for the text report. */
export function incompleteLine(x: Incomplete): string {
  const what = x.kind === 'inconclusive-chain' ? `chain ${x.hook} (${x.chain})` : x.file ? x.file : (x.entry ?? '');
  return `${x.kind}${what ? ` ${what}` : ''}: ${x.reason}`;
}

/** What a check adds to an analysis for its reports: what it did not check, and the findings people reviewed. */
export interface CheckOutcome {
  incomplete: Incomplete[];
  suppressed: Suppressed[];
}

export const noOutcome: CheckOutcome = { incomplete: [], suppressed: [] };
