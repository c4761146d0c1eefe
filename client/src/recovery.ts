// What the client does when the language server process dies: restart it, at most MAX_RESTARTS times within
// RESTART_WINDOW_MS, telling the user once per session; past the bound, stop and say so once. Plain logic, no
// VS Code API, so node's test runner can check it without an editor (the e2e test checks it in one).

export const MAX_RESTARTS = 4;
export const RESTART_WINDOW_MS = 3 * 60_000;

export const RESTARTED_MESSAGE =
  'lockpath: the language server stopped unexpectedly and was restarted (details in the lockpath output).';

export function gaveUpMessage(deaths: number): string {
  return `lockpath: the language server stopped ${deaths} times within ${RESTART_WINDOW_MS / 60_000} minutes and will not be restarted. Run "lockpath: Restart Language Server" to try again (details in the lockpath output).`;
}

export interface Decision {
  restart: boolean;
  /** What to tell the user now, if anything. */
  tell?: string;
}

export class RestartPolicy {
  private deaths: number[] = [];
  private toldRestart = false;
  private gaveUp = false;

  constructor(private readonly now: () => number = Date.now) {}

  serverDied(): Decision {
    const t = this.now();
    this.deaths = [...this.deaths.filter((d) => t - d < RESTART_WINDOW_MS), t];
    if (this.deaths.length > MAX_RESTARTS) {
      const tell = this.gaveUp ? undefined : gaveUpMessage(this.deaths.length);
      this.gaveUp = true;
      return { restart: false, tell };
    }
    const tell = this.toldRestart ? undefined : RESTARTED_MESSAGE;
    this.toldRestart = true;
    return { restart: true, tell };
  }

  /** The user restarted the server by hand: a fresh budget, and the next crash is news again. */
  reset(): void {
    this.deaths = [];
    this.toldRestart = false;
    this.gaveUp = false;
  }
}
