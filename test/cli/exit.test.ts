// Exit statuses of `lockpath check`: 0 only when everything was checked and no race found, 1 races, 2 bad input,
// 3 no race found but something not checked; and every report says what was not checked and why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import { exampleDir, fixturesDir, repoRoot, scratchDir } from '../helpers';

const bin = join(repoRoot, 'bin', 'lockpath.js');

export function lockpath(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args, '--no-cache'], {
    cwd: tmpdir(),
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

type Incomplete = { kind: string; reason: string; file?: string; chain?: string };

function noResourceDir(): string {
  const dir = scratchDir('lockpath-nores-');
  writeFileSync(join(dir, 'a.c'), 'int add_one(int x)\n{\n\treturn x + 1;\n}\n');
  return dir;
}

describe('exit statuses of check', () => {
  it('--max-states 1 on the example: the races are not found, and the run says it is incomplete and exits 3', () => {
    const r = lockpath(['demo', '--max-states', '1']);
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /0 race, 14 safe, 12 inconclusive/);
    assert.match(r.out, /^INCOMPLETE: \d+ things not checked:$/m);
    assert.match(
      r.out,
      /^ {2}search-bound kvm_mmu_notifier_clear_young \(kvm_mmu_notifier_ops\.clear_young\): the interleaving search stopped at its bound/m,
    );
    assert.match(r.out, /^ {2}inconclusive-chain chain kvm_age_hva \([0-9a-f]{8}\): the search stopped at its bound/m);
    const j = JSON.parse(lockpath(['demo', '--json', '--max-states', '1']).out);
    assert.equal(j.summary.complete, false);
    const kinds = new Set(j.incomplete.map((x: Incomplete) => x.kind));
    assert.deepEqual([...kinds].sort(), ['inconclusive-chain', 'search-bound']);
    assert.equal(j.incomplete.filter((x: Incomplete) => x.kind === 'inconclusive-chain').length, 12);
    assert.ok(j.incomplete.every((x: Incomplete) => x.reason.length > 0));
  });

  it('a folder where no resource is recognised has 0 chains and exits 3 saying why', () => {
    const r = lockpath([noResourceDir()]);
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /^ {2}no-resource: no stage-2 root recognised/m);
    assert.match(r.out, /^ {2}no-chains: no call chain reaches kvm->arch\.pgd: nothing was checked$/m);
  });

  it('races exit 1 even when the run is also incomplete', () => {
    const dir = scratchDir('lockpath-races-incomplete-');
    cpSync(exampleDir, dir, { recursive: true });
    writeFileSync(join(dir, 'virt', 'kvm', 'blob.c'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
    const j = lockpath(['--json', dir]);
    assert.equal(j.code, 1, j.err);
    const parsed = JSON.parse(j.out);
    assert.equal(parsed.findings.length, 3);
    assert.ok(
      parsed.incomplete.some(
        (x: Incomplete) => x.kind === 'skipped' && x.file === 'virt/kvm/blob.c' && /binary/.test(x.reason),
      ),
      JSON.stringify(parsed.incomplete),
    );
  });

  it('a complete clean run exits 0 and says it is complete, in text, JSON and SARIF', () => {
    const tree = join(fixturesDir, 'history', 'v4.13');
    const r = lockpath([tree]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^complete: every chain got a verdict and nothing in scope was skipped$/m);
    const j = JSON.parse(lockpath(['--json', tree]).out);
    assert.equal(j.lockpath.shape, 2);
    assert.equal(j.summary.complete, true);
    assert.deepEqual(j.incomplete, []);
    const sarif = JSON.parse(lockpath(['--sarif', tree]).out);
    assert.equal(sarif.runs[0].invocations[0].executionSuccessful, true);
  });

  it('SARIF of an incomplete run is not successful and lists what was not checked', () => {
    const sarif = JSON.parse(lockpath(['--sarif', noResourceDir()]).out);
    const tool = join(repoRoot, 'node_modules', '@microsoft', 'sarif-multitool-linux');
    const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(
      JSON.parse(readFileSync(join(tool, 'sarif-2.1.0.json'), 'utf8')),
    );
    assert.ok(validate(structuredClone(sarif)), JSON.stringify(validate.errors?.slice(0, 5)));
    const inv = sarif.runs[0].invocations[0];
    assert.equal(inv.executionSuccessful, false);
    const ids = inv.toolExecutionNotifications.map((n: { descriptor?: { id: string } }) => n.descriptor?.id);
    assert.ok(ids.includes('incomplete/no-resource') && ids.includes('incomplete/no-chains'), JSON.stringify(ids));
  });

  it('--fail-on lets CI choose: race ignores incompleteness, none only fails bad input', () => {
    const dir = noResourceDir();
    assert.equal(lockpath(['--fail-on', 'race', dir]).code, 0);
    assert.equal(lockpath(['--fail-on=incomplete', dir]).code, 3);
    assert.equal(lockpath(['demo', '--fail-on', 'race']).code, 1, 'races still fail');
    assert.equal(lockpath(['demo', '--fail-on', 'none']).code, 0);
    const bad = lockpath(['--fail-on', 'sometimes']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--fail-on takes race, incomplete or none, not "sometimes"/);
    assert.equal(lockpath(['--fail-on', 'none', '/nonexistent/linux']).code, 2);
  });

  it('--help documents the statuses and --fail-on', () => {
    const r = lockpath(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /--fail-on WHAT/);
    assert.match(r.out, /3 no race found, but not everything\s+was checked/);
    assert.match(
      readFileSync(join(repoRoot, 'README.md'), 'utf8'),
      /3 when no race was found but not everything was checked/,
    );
  });
});
