// Quick fixes for findings, as plain text edits. Each historical bug class has the fix upstream gave it:
//   unguarded-notifier-path -> a pgd test in the mmu-notifier hook (preferred), or in the walker (v4.13, 2017 thread)
//   stale-after-lock-drop   -> re-read the root at the top of the loop that reschedules (v4.12)
//   cleared-outside-lock,
//   teardown-without-lock   -> test and clear under the lock in the free function, free after unlocking (v4.12)
// When unsure (text changed since the analysis, a shape we cannot rewrite safely, the guard already there) no fix
// is offered: a wrong edit to kernel code is worse than none.
import type { Finding } from '../findings/findings';
import type { Analysis } from '../workspace';
import { freeUnderLock } from './freeUnderLock';
import { honestTitle, leftByGuard, leftOnChain } from './honest';
import { lockDrop, lockDropRecheck } from './lockDropRecheck';
import { hookGuard, notifierHook, walkerGuard } from './notifierGuard';
import type { Draft, Fix } from './types';

export type { Fix, TextEdit } from './types';

export function fixesFor(analysis: Analysis, finding: Finding, textOf: (file: string) => string | undefined): Fix[] {
  try {
    const { own, fallback } = strategies(analysis, finding, textOf);
    let drafts = made(own);
    if (!drafts.length) drafts = made(fallback);
    return drafts.map((d, i) => ({ ...d, preferred: i === 0, findingId: finding.id }));
  } catch {
    return [];
  }
}

type Make = () => Draft | undefined;

/** What each fix removes from a chain (what else is on the chain stays, and its title says so). A double free is
 *  the free function's to fix whatever story it was told as. */
const FREE_SIDE_FIXES = (g: Finding): boolean =>
  g.class === 'cleared-outside-lock' || g.class === 'teardown-without-lock' || g.kind === 'double-free';
const RECHECK_FIXES = (g: Finding): boolean =>
  (g.class === 'stale-after-lock-drop' || g.class === 'may-be-freed') && g.kind !== 'double-free';

/** Runs the strategies in order, dropping the ones with nothing to offer and repeats of an earlier one. */
function made(makes: readonly Make[]): Draft[] {
  const drafts: Draft[] = [];
  const seen = new Set<string>();
  for (const make of makes) {
    const d = make();
    const key = d ? JSON.stringify(d.edits) : '';
    if (!d || !d.edits.length || seen.has(key)) continue;
    seen.add(key);
    drafts.push(d);
  }
  return drafts;
}

/** The fixes worth trying for a finding, best first; the fallback only when none of those has anything to offer. */
function strategies(
  analysis: Analysis,
  finding: Finding,
  textOf: (file: string) => string | undefined,
): { own: Make[]; fallback: Make[] } {
  // Each title says what the fix leaves of the chain, if anything.
  const honest =
    (make: () => Draft | undefined, remains: () => string | undefined): Make =>
    () => {
      const d = make();
      return d && { ...d, title: honestTitle(d.title, remains()) };
    };
  const recheck: Make = honest(
    () => lockDropRecheck(analysis, finding, textOf),
    () => leftOnChain(analysis, finding, RECHECK_FIXES),
  );
  const freeSide: Make = honest(
    () => freeUnderLock(analysis, finding, textOf),
    () => leftOnChain(analysis, finding, FREE_SIDE_FIXES),
  );
  const guardIn = (fn: string | undefined) => (): string | undefined =>
    fn ? leftByGuard(analysis, finding, fn) : undefined;
  const guards: Make[] = [
    honest(() => hookGuard(analysis, finding, textOf), guardIn(notifierHook(analysis, finding)?.name)),
    honest(() => walkerGuard(analysis, finding, textOf), guardIn(finding.chain.walker?.name)),
  ];
  const dropped = !!lockDrop(finding);
  // When the class's own fix is already in the code, a lock drop in the witness is the next suspect.
  const fallback = dropped ? [recheck] : [];
  switch (finding.class) {
    case 'unguarded-notifier-path':
      return { own: guards, fallback };
    case 'may-be-freed':
      // A walk that dropped the lock first needs the re-check; a notifier path may also lack its guard.
      return {
        own: [...(dropped ? [recheck] : []), ...(finding.chain.context === 'mmu-notifier' ? guards : [])],
        fallback: [],
      };
    case 'stale-after-lock-drop':
      // A second free by an overlapping release is the free function's fault, not the loop's.
      return {
        own:
          finding.kind === 'double-free' || finding.function === analysis.model.freeFunction ? [freeSide] : [recheck],
        fallback: [],
      };
    case 'cleared-outside-lock':
    case 'teardown-without-lock':
      return { own: [freeSide], fallback };
    default:
      return { own: [], fallback: [] };
  }
}
