// Suppression: `// lockpath: ignore <class or id> -- <reason>` at the end of a finding's line, on the line above it
// or above its function, and the model file's reviewed list. Suppressed findings are listed with their reasons
// (JSON, SARIF, editor hints), not counted as races; an ignore that matches nothing is a warning.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import { DiagnosticSeverity } from 'vscode-languageserver/node';
import { applySuppressions, ignoreComments } from '../../server/src/analysis/findings/suppress';
import { problemDiagnostics } from '../../server/src/lsp/diagnostics';
import { analyzeTexts, exampleDir, repoRoot, scratchDir } from '../helpers';

const bin = join(repoRoot, 'bin', 'lockpath.js');
const MMU = join('virt', 'kvm', 'arm', 'mmu.c');
/** The three races of the example are all here, 1-based: `if (!WARN_ON(stage2_pgd_none(*pgd)))`. */
const RACE_LINE = 411;
const HEADER_LINE = 404;

function lockpath(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, '--no-cache', ...args], {
    cwd: tmpdir(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The example with mmu.c edited line by line (1-based line numbers of the original). */
function exampleWith(edit: (lines: string[]) => void): string {
  const dir = scratchDir('lockpath-suppress-');
  cpSync(exampleDir, dir, { recursive: true });
  const lines = readFileSync(join(exampleDir, MMU), 'utf8').split('\n');
  assert.match(
    lines[RACE_LINE - 1],
    /stage2_pgd_none\(\*pgd\)/,
    'the example still has its races where this test expects them',
  );
  edit(lines);
  writeFileSync(join(dir, MMU), lines.join('\n'));
  return dir;
}

type Json = {
  findings: { id: string }[];
  suppressed: { id: string; reason: string; by: string; commentLine?: number }[];
  summary: { findings: number; suppressed: number };
  problems: { file: string; line: number; severity: string; message: string }[];
};

describe('suppression', () => {
  it('an ignore comment for the class at the end of the line suppresses all three races: listed with the reason, exit 0', () => {
    const dir = exampleWith((l) => {
      l[RACE_LINE - 1] += ' // lockpath: ignore unguarded-notifier-path -- notifiers are unregistered first here';
    });
    const r = lockpath(['--json', dir]);
    assert.equal(r.code, 0, r.out + r.err);
    const j = JSON.parse(r.out) as Json;
    assert.equal(j.findings.length, 0);
    assert.equal(j.summary.suppressed, 3);
    assert.ok(
      j.suppressed.every(
        (s) =>
          s.reason === 'notifiers are unregistered first here' && s.by === 'comment' && s.commentLine === RACE_LINE,
      ),
    );
    const text = lockpath([dir]);
    assert.match(text.out, /^suppressed \(3, not counted as races\):$/m);
    assert.match(
      text.out,
      /^ {2}virt\/kvm\/arm\/mmu\.c:411:31: \[unguarded-notifier-path\] LP[0-9A-F]{8} \(ignore comment at virt\/kvm\/arm\/mmu\.c:411\): notifiers are unregistered first here$/m,
    );
  });

  it('an ignore comment for one finding id on the line above suppresses that one only: the other two still exit 1', () => {
    const all = (JSON.parse(lockpath(['--json', exampleDir]).out) as Json).findings.map((f) => f.id);
    const dir = exampleWith((l) =>
      l.splice(RACE_LINE - 1, 0, `\t// lockpath: ignore ${all[1]} -- reviewed on the list`),
    );
    const r = lockpath(['--json', dir]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out) as Json;
    assert.deepEqual(
      j.findings.map((f) => f.id),
      [all[0], all[2]],
    );
    assert.deepEqual(
      j.suppressed.map((s) => s.id),
      [all[1]],
    );
  });

  it('an ignore comment above the function header covers its findings; SARIF marks them suppressed in source', () => {
    const dir = exampleWith((l) =>
      l.splice(HEADER_LINE - 1, 0, '/* lockpath: ignore unguarded-notifier-path -- the caller checks */'),
    );
    const sarifRun = lockpath(['--sarif', dir]);
    assert.equal(sarifRun.code, 0, sarifRun.err);
    const sarif = JSON.parse(sarifRun.out);
    const tool = join(repoRoot, 'node_modules', '@microsoft', 'sarif-multitool-linux');
    const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(
      JSON.parse(readFileSync(join(tool, 'sarif-2.1.0.json'), 'utf8')),
    );
    assert.ok(validate(structuredClone(sarif)), JSON.stringify(validate.errors?.slice(0, 5)));
    const results = sarif.runs[0].results as { suppressions?: { kind: string; justification: string }[] }[];
    assert.equal(results.length, 3);
    assert.ok(
      results.every(
        (x) => x.suppressions?.[0].kind === 'inSource' && x.suppressions[0].justification === 'the caller checks',
      ),
    );
  });

  it('an ignore comment that matches nothing is a warning with its location, and suppresses nothing', () => {
    const dir = exampleWith((l) => {
      l[RACE_LINE - 2] += ' // lockpath: ignore stale-after-lock-drop -- not here';
    });
    const r = lockpath(['--json', dir]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out) as Json;
    assert.equal(j.findings.length, 3);
    const w = j.problems.find((p) => /ignore comment for stale-after-lock-drop matches no finding/.test(p.message));
    assert.ok(w, JSON.stringify(j.problems.filter((p) => p.severity === 'warning')));
    assert.equal(w.file, 'virt/kvm/arm/mmu.c');
    assert.equal(w.line, RACE_LINE - 1);
    assert.equal(w.severity, 'warning');
  });

  it("the model file's reviewed list suppresses by id with the reason; an id it does not find is a warning", () => {
    const all = (JSON.parse(lockpath(['--json', exampleDir]).out) as Json).findings.map((f) => f.id);
    const dir = exampleWith(() => {});
    writeFileSync(
      join(dir, '.lockpath.json'),
      JSON.stringify({
        reviewed: [
          { id: all[0], reason: 'fixed by the caller in 4.13' },
          { id: 'LP00000000', reason: 'gone' },
        ],
      }),
    );
    const r = lockpath(['--json', dir]);
    assert.equal(r.code, 1, r.err);
    const j = JSON.parse(r.out) as Json;
    assert.deepEqual(
      j.suppressed.map((s) => [s.id, s.by, s.reason]),
      [[all[0], 'reviewed', 'fixed by the caller in 4.13']],
    );
    assert.ok(
      j.problems.some((p) => p.severity === 'warning' && /reviewed finding LP00000000 is not found/.test(p.message)),
    );
    writeFileSync(join(dir, '.lockpath.json'), JSON.stringify({ reviewed: [{ id: all[0] }] }));
    const bad = lockpath([dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /reviewed\/0 must have required property 'reason'/);
  });

  it('in the editor a suppressed finding is a hint with the reason, not an error', async () => {
    const text = readFileSync(join(exampleDir, MMU), 'utf8').split('\n');
    text[RACE_LINE - 1] += ' // lockpath: ignore unguarded-notifier-path -- the caller checks';
    const files: Record<string, string> = { [MMU]: text.join('\n') };
    for (const f of ['virt/kvm/kvm_main.c', 'virt/kvm/arm/arm.c']) files[f] = readFileSync(join(exampleDir, f), 'utf8');
    const a = await analyzeTexts(files);
    const before = a.findings.length;
    assert.ok(before > 0);
    const s = applySuppressions(a, (f) => files[f] ?? '');
    assert.equal(a.findings.length, 0);
    assert.equal(s.suppressed.length, before);
    const hints = problemDiagnostics(a.problems, MMU, false).filter((d) => d.severity === DiagnosticSeverity.Hint);
    assert.equal(hints.length, before);
    assert.ok(hints.every((d) => d.range.start.line === RACE_LINE - 1 && /the caller checks$/.test(d.message)));
  });

  it('comments without a reason are reported, not obeyed', () => {
    const { comments, problems } = ignoreComments('a.c', 'int x; // lockpath: ignore may-be-freed\n');
    assert.equal(comments.length, 0);
    assert.match(problems[0].message, /needs a finding class or id and a reason/);
  });
});
