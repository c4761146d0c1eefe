// The server's view of the file system and how it is started: it indexes only inside the workspace folder (a link
// out of it is not followed), picks up files created on disk when told by the watcher, writes nothing, and runs
// the same way from `lockpath serve --stdio` and with the analysis on its own thread.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exampleDir, repoRoot } from '../helpers';
import { findingIds, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';

function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => `${f}:${statSync(join(dir, f)).isDirectory() ? 'dir' : statSync(join(dir, f)).size}`)
    .sort();
}

describe('workspace folder, links and watched files', { timeout: 240_000 }, () => {
  let dir: string;
  let root: string;
  let client: TestClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lockpath-ws-'));
    root = join(dir, 'tree');
    cpSync(exampleDir, root, { recursive: true });
    // A C file outside the folder, reached through a link inside it: never read.
    mkdirSync(join(dir, 'outside'));
    writeFileSync(
      join(dir, 'outside', 'secret.c'),
      'int outside_only_function(struct kvm *kvm)\n{\n\treturn *kvm->arch.pgd;\n}\n',
    );
    symlinkSync(join(dir, 'outside', 'secret.c'), join(root, 'virt/kvm/arm/secret.c'));
    symlinkSync(join(dir, 'outside'), join(root, 'virt/kvm/outside-dir'));
    client = new TestClient(root);
    await client.initialize();
    client.open(MMU);
    await client.diagnosticsAt(client.uri(MMU), 1, 120_000);
  });

  after(async () => {
    await client?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not follow links out of the workspace folder', async () => {
    const r = await client.request<{ found: boolean }>('lockpath/explain', { name: 'outside_only_function' });
    assert.equal(r.found, false);
    assert.ok(
      client.logs.some((l) => /secret\.c: skipped: link leads outside the folder/.test(l)),
      client.logs.join('\n'),
    );
  });

  it('picks up a file created on disk when the watcher says so', async () => {
    const since = client.statuses.length;
    writeFileSync(join(root, 'virt/kvm/arm/extra.c'), 'void lockpath_watch_probe(struct kvm *kvm)\n{\n}\n');
    await client.conn.sendNotification('workspace/didChangeWatchedFiles', {
      changes: [{ uri: client.uri('virt/kvm/arm/extra.c'), type: 1 }],
    });
    await client.waitFor(
      'a new analysis',
      () => client.statuses.slice(since).some((s) => s.state === 'idle' && s.files === 7),
      120_000,
    );
    const r = await client.request<{ found: boolean }>('lockpath/explain', { name: 'lockpath_watch_probe' });
    assert.equal(r.found, true);
  });

  it('writes nothing into the folder', () => {
    const before = listing(root);
    assert.ok(before.length > 6);
    // Nothing but what the test itself wrote (extra.c) and the copy.
    const fresh = mkdtempSync(join(tmpdir(), 'lockpath-cmp-'));
    try {
      cpSync(exampleDir, fresh, { recursive: true });
      writeFileSync(join(fresh, 'virt/kvm/arm/extra.c'), 'void lockpath_watch_probe(struct kvm *kvm)\n{\n}\n');
      const expected = listing(fresh);
      assert.deepEqual(
        before.filter((f) => !/secret\.c|outside-dir/.test(f)),
        expected,
      );
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});

describe('other ways to run the server', { timeout: 240_000 }, () => {
  const runs: [string, () => TestClient][] = [
    [
      'lockpath serve --stdio (the CLI)',
      () => new TestClient(exampleDir, { command: [join(repoRoot, 'bin', 'lockpath.js'), 'serve', '--stdio'] }),
    ],
    [
      'the analysis on the LSP thread (no worker)',
      () => new TestClient(exampleDir, { env: { LOCKPATH_INLINE_ANALYSIS: '1' } }),
    ],
  ];
  for (const [name, make] of runs) {
    it(`${name}: same diagnostics, and server-side commands for editors without client commands`, async () => {
      const client = make();
      try {
        const init = (await client.initialize()) as {
          capabilities: { executeCommandProvider?: { commands: string[] } };
        };
        assert.deepEqual(init.capabilities.executeCommandProvider?.commands, [
          'lockpath.showChains',
          'lockpath.explain',
          'lockpath.showRaceTimeline',
        ]);
        const mmu = client.open(MMU);
        const ds = await client.diagnosticsAt(mmu, 1, 120_000);
        assert.equal(findingIds(ds).length, 3);
        const r = await client.request<{ chains: unknown[] }>('workspace/executeCommand', {
          command: 'lockpath.showChains',
          arguments: ['kvm_test_age_hva'],
        });
        assert.equal(r.chains.length, 1);
      } finally {
        await client.stop();
      }
    });
  }

  it('a client with its own commands gets none claimed by the server', async () => {
    const client = new TestClient(exampleDir);
    try {
      const init = (await client.initialize({ initializationOptions: { clientCommands: true } })) as {
        capabilities: { executeCommandProvider?: unknown };
      };
      assert.equal(init.capabilities.executeCommandProvider, undefined);
    } finally {
      await client.stop();
    }
  });
});
