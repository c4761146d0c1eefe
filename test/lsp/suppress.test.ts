// Suppression in the editor, through the real server: an ignore comment turns its findings into hints that carry
// the reason, and an ignore that matches nothing is a warning on the comment.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiagnosticSeverity } from 'vscode-languageserver-protocol/node';
import { exampleDir } from '../helpers';
import { findingIds, TestClient } from './harness';

const MMU = 'virt/kvm/arm/mmu.c';
/** 0-based: `if (!WARN_ON(stage2_pgd_none(*pgd)))`, where the example's three races are. */
const RACE_LINE = 410;

describe('suppressed findings in the editor', { timeout: 240_000 }, () => {
  let dir: string;
  let client: TestClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lockpath-lsp-suppress-'));
    cpSync(exampleDir, dir, { recursive: true });
    const lines = readFileSync(join(dir, MMU), 'utf8').split('\n');
    assert.match(lines[RACE_LINE], /stage2_pgd_none\(\*pgd\)/);
    lines[RACE_LINE] += ' // lockpath: ignore unguarded-notifier-path -- notifiers are gone before the free';
    lines[RACE_LINE - 1] += ' // lockpath: ignore may-be-freed -- nothing here';
    writeFileSync(join(dir, MMU), lines.join('\n'));
    client = new TestClient(dir);
    await client.initialize();
  });

  after(async () => {
    await client?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the suppressed findings as hints with the reason, no errors, and warns about the ignore that matches nothing', async () => {
    const ds = await client.diagnosticsAt(client.open(MMU), 1, 120_000);
    assert.deepEqual(findingIds(ds), [], 'no finding diagnostics');
    assert.equal(ds.filter((d) => d.severity === DiagnosticSeverity.Error).length, 0);
    const hints = ds.filter((d) => d.severity === DiagnosticSeverity.Hint);
    assert.equal(hints.length, 3);
    assert.ok(
      hints.every(
        (d) =>
          d.range.start.line === RACE_LINE &&
          /unguarded-notifier-path LP[0-9A-F]{8} \(ignore comment\): notifiers are gone before the free$/.test(
            d.message,
          ),
      ),
      JSON.stringify(hints.map((d) => d.message)),
    );
    const unused = ds.filter(
      (d) =>
        d.severity === DiagnosticSeverity.Warning &&
        /ignore comment for may-be-freed matches no finding/.test(d.message),
    );
    assert.equal(unused.length, 1);
    assert.equal(unused[0].range.start.line, RACE_LINE - 1);
  });
});
