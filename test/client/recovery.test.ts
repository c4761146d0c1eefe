// The client's restart policy on its own (the e2e test vscode-recovery checks it in VS Code): restarts within the
// bound, one notice for all of them, one "will not be restarted" past it and then silence, a fresh budget once
// crashes are older than the window or the user restarts by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RESTARTS, RESTART_WINDOW_MS, RESTARTED_MESSAGE, RestartPolicy } from '../../client/src/recovery';

describe('client restart policy', () => {
  it('restarts MAX_RESTARTS times with one notice, then gives up once', () => {
    let now = 0;
    const p = new RestartPolicy(() => now);
    const decisions = Array.from({ length: MAX_RESTARTS + 3 }, () => {
      now += 1000;
      return p.serverDied();
    });
    assert.deepEqual(
      decisions.slice(0, MAX_RESTARTS).map((d) => d.restart),
      Array(MAX_RESTARTS).fill(true),
    );
    assert.deepEqual(
      decisions.map((d) => d.tell ?? ''),
      [
        RESTARTED_MESSAGE,
        ...Array(MAX_RESTARTS - 1).fill(''),
        `lockpath: the language server stopped ${MAX_RESTARTS + 1} times within 3 minutes and will not be restarted. Run "lockpath: Restart Language Server" to try again (details in the lockpath output).`,
        '',
        '',
      ],
    );
    assert.ok(decisions.slice(MAX_RESTARTS).every((d) => !d.restart));
  });

  it('forgets crashes older than the window', () => {
    let now = 0;
    const p = new RestartPolicy(() => now);
    for (let i = 0; i < 20; i++) {
      now += RESTART_WINDOW_MS / MAX_RESTARTS + 1;
      assert.equal(p.serverDied().restart, true, `crash ${i + 1}, spread out`);
    }
  });

  it('a restart by hand gives a fresh budget and a fresh notice', () => {
    const now = 0;
    const p = new RestartPolicy(() => now);
    for (let i = 0; i <= MAX_RESTARTS; i++) p.serverDied();
    assert.equal(p.serverDied().restart, false);
    p.reset();
    assert.deepEqual(p.serverDied(), { restart: true, tell: RESTARTED_MESSAGE });
  });
});
