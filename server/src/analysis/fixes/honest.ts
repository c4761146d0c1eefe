// Fix titles that do not promise more than the fix does. A NULL test of the root guards the NULL case only; when
// the chain's search also met the tables freed under it (the free path frees without clearing the root under the
// lock first) or went wrong outside the function the test goes in, that remains after the fix, and the title says
// so. Read off the chain's own hazards, not a second analysis: fixes are computed for every finding.
import type { Finding } from '../findings/findings';
import { stackNames } from '../simulate/simulate';
import type { Analysis } from '../workspace';

/** What a NULL test in `guardIn` leaves of the finding's chain, as words for the title; undefined: nothing. */
export function leftByGuard(analysis: Analysis, finding: Finding, guardIn: string): string | undefined {
  const chain = analysis.chains.find((c) => c.chain.id === finding.chain.id);
  const sim = analysis.simulations.find((s) => s.entry === finding.chain.entry);
  if (!chain || !sim) return undefined;
  let freed = false;
  let elsewhere = false;
  for (const { hazard } of chain.verdict.hazards) {
    const covered = stackNames(sim.program, hazard.pc).includes(guardIn);
    if (hazard.kind !== 'null-deref') freed = true;
    else if (!covered) elsewhere = true;
  }
  if (freed) return 'guards the NULL case; the freed case remains';
  if (elsewhere) return `guards the NULL case in ${guardIn}; the chain goes wrong before it too`;
  return undefined;
}

/** Other findings on the finding's chain that a fix aimed at this one leaves standing. */
export function leftOnChain(analysis: Analysis, finding: Finding, fixes: (g: Finding) => boolean): string | undefined {
  const others = analysis.findings.filter((g) => g !== finding && g.chain.id === finding.chain.id && !fixes(g));
  if (!others.length) return undefined;
  const classes = [...new Set(others.map((g) => g.class))];
  return `the ${classes.join(' and ')} finding${classes.length === 1 ? '' : 's'} on this chain remain${classes.length === 1 ? 's' : ''}`;
}

/** The title with what remains in parentheses (after any parenthesis it already has). */
export function honestTitle(title: string, remains: string | undefined): string {
  if (!remains) return title;
  const open = title.lastIndexOf(' (');
  return open > 0 && title.endsWith(')') ? `${title.slice(0, -1)}; ${remains})` : `${title} (${remains})`;
}
