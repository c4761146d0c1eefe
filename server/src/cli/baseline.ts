// `lockpath check --baseline OLD.json`: for CI, where OLD.json is an earlier `lockpath check --json`. Only what is
// new fails the build; what was fixed and what stayed are listed.
import { readFileSync } from 'node:fs';
import type { Analysis } from '../analysis';
import { findingJson, type FindingJson } from '../report/json';
import { BadInput, incomplete, VERSION } from './analyze';
import type { CliArgs } from './args';
import { diffExitStatus, diffFindings, diffText } from './diff-report';

export function readBaseline(file: string): FindingJson[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BadInput(`cannot read the baseline ${file}: ${(e as Error).message}`);
  }
  let json: { findings?: unknown };
  try {
    json = JSON.parse(text) as { findings?: unknown };
  } catch (e) {
    throw new BadInput(
      `${file}: not JSON (${(e as Error).message}); the baseline is the output of lockpath check --json`,
    );
  }
  const findings = json?.findings;
  if (!Array.isArray(findings) || !findings.every((f: { id?: unknown } | null) => typeof f?.id === 'string')) {
    throw new BadInput(
      `${file}: no "findings" array of findings with ids; the baseline is the output of lockpath check --json`,
    );
  }
  return findings as FindingJson[];
}

export function checkAgainstBaseline(
  args: CliArgs,
  a: Analysis & { scopeLine: string },
  out: (s: string) => void,
): number {
  const before = readBaseline(args.baseline!);
  const d = diffFindings(
    before,
    a.findings.map((f) => findingJson(a, f)),
  );
  if (args.json)
    out(`${JSON.stringify({ lockpath: { version: VERSION, shape: 1 }, baseline: args.baseline, ...d }, null, 2)}\n`);
  else out(`${diffText(d, `lockpath ${VERSION}: ${a.scopeLine}; compared with ${args.baseline}`)}\n`);
  return diffExitStatus(args, d, incomplete(a));
}
