// How many analysis-host crashes the server tolerates: a few within a window are restarted (a crash on one
// input should not end the analysis for the session); more than that and it gives up, telling the user once.
/** Worker crashes tolerated within CRASH_WINDOW_MS before giving up. */
export const MAX_CRASHES = 4;
export const CRASH_WINDOW_MS = 3 * 60_000;

export class CrashPolicy {
  private crashes: number[] = [];
  private gaveUp = false;

  /** Records a crash at `now`: 'restart', or 'give-up' (the first time it gives up) then 'given-up'. */
  crashed(now: number): 'restart' | 'give-up' | 'given-up' {
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length <= MAX_CRASHES) return 'restart';
    if (this.gaveUp) return 'given-up';
    this.gaveUp = true;
    return 'give-up';
  }

  /** Crashes within the window. */
  get recent(): number {
    return this.crashes.length;
  }
}
