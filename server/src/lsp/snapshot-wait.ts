// Requests that need an analysis of the current texts wait here for one, bounded by a timeout and by the
// request's cancellation; either way they then answer from whatever snapshot there is.
import type { CancellationToken } from 'vscode-languageserver/node';
import type { Snapshot } from './snapshot';

export class SnapshotWaiters {
  private waiters: ((s: Snapshot | undefined) => void)[] = [];

  /** Resolves with the snapshot passed to `resolveAll`, or with `fallback()` after `ms` or on cancellation. */
  wait(
    token: CancellationToken | undefined,
    ms: number,
    fallback: () => Snapshot | undefined,
  ): Promise<Snapshot | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (s: Snapshot | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        sub?.dispose();
        this.waiters = this.waiters.filter((w) => w !== finish);
        resolve(s);
      };
      const t = setTimeout(() => finish(fallback()), ms);
      const sub = token?.onCancellationRequested(() => finish(fallback()));
      this.waiters.push(finish);
    });
  }

  resolveAll(s: Snapshot | undefined): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(s);
  }
}
