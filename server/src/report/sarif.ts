// SARIF 2.1.0 for code-scanning UIs: one result per finding, the chain as related locations, and the witness as
// a codeFlow with one threadFlow per thread (executionOrder gives the interleaving).
import type { Analysis } from '../analysis/workspace';
import type { Finding, WitnessStep } from '../analysis/findings/findings';
import { classTitles, type FindingClass } from '../analysis/findings/classify';
import { noOutcome, incompleteLine, type CheckOutcome } from './incomplete';

const help: Record<FindingClass, string> = {
  'teardown-without-lock':
    'The free path unmaps the stage-2 tables without kvm->mmu_lock, so walkers that hold the lock are not serialized with it (fixed upstream in v4.11, "kvm: arm/arm64: Fix locking for kvm_free_stage2_pgd").',
  'stale-after-lock-drop':
    'A walk caches the root, drops the lock with cond_resched_lock and keeps walking after retaking it, while the tables may have been freed (fixed in v4.12, "kvm: arm/arm64: Fix use after free of stage2 page table").',
  'unguarded-notifier-path':
    'An mmu-notifier hook reaches the root without checking it; notifiers run outside the VM\'s own context and can run after mmu_notifier_release freed the tables (fixed in v4.13, "KVM: arm/arm64: Handle hva aging while destroying the vm").',
  'cleared-outside-lock':
    'The free path frees the tables before (or without) clearing the root under the lock, so a check made under the lock can pass and walk freed tables, and two releases can both free (fixed in v4.12, "kvm: arm/arm64: Fix race in resetting stage2 PGD").',
  'sleeps-in-nonblocking-context':
    'A walk reached from an mmu-notifier invalidation may sleep (cond_resched_lock, mutex_lock...) although the invalidation may be non-blockable (the OOM reaper calls it that way, mmu_notifier_range_blockable() is false); pass the blockable flag down and reschedule only when it is set (fixed upstream in v5.9, "KVM: arm64: Only reschedule if MMU_NOTIFIER_RANGE_BLOCKABLE is not set").',
  'may-be-freed': 'The root may be freed while this path uses it.',
};

type Region = { startLine: number; startColumn: number; endLine: number; endColumn: number };

function region(at: { line: number; column: number; endLine: number; endColumn: number }): Region {
  const endColumn = at.endLine === at.line && at.endColumn <= at.column ? at.column + 2 : at.endColumn + 1;
  return { startLine: at.line + 1, startColumn: at.column + 1, endLine: at.endLine + 1, endColumn };
}

function location(file: string, at: Parameters<typeof region>[0], text?: string) {
  return {
    physicalLocation: { artifactLocation: { uri: encodeURI(file), uriBaseId: '%SRCROOT%' }, region: region(at) },
    ...(text ? { message: { text } } : {}),
  };
}

export function reportSarif(a: Analysis, version: string, srcRoot: string, outcome: CheckOutcome = noOutcome): object {
  const classes = Object.keys(classTitles) as FindingClass[];
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'lockpath',
            version,
            semanticVersion: version,
            informationUri: 'https://example.invalid/lockpath',
            rules: classes.map((id) => ({
              id,
              name: id.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase()),
              shortDescription: { text: classTitles[id] },
              fullDescription: { text: help[id] },
              help: { text: help[id] },
              defaultConfiguration: { level: id === 'may-be-freed' ? 'warning' : 'error' },
            })),
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileUri(srcRoot) } },
        artifacts: a.files.map((f) => ({ location: { uri: encodeURI(f.file), uriBaseId: '%SRCROOT%' } })),
        results: [
          ...a.findings.map((f) => result(f, classes)),
          ...outcome.suppressed.map((x) => ({
            ...result(x.finding, classes),
            suppressions: [
              { kind: x.by === 'comment' ? 'inSource' : 'external', status: 'accepted', justification: x.reason },
            ],
          })),
        ],
        invocations: [
          {
            // Incomplete is not a tool failure in SARIF's sense, but a consumer reading only this flag must not take
            // an incomplete run for a clean one; the notifications say what was not checked.
            executionSuccessful: outcome.incomplete.length === 0,
            toolExecutionNotifications: [
              ...a.problems
                .filter((p) => p.severity !== 'info')
                .map((p) => ({
                  level: p.severity === 'error' ? 'error' : 'warning',
                  message: { text: p.message },
                  ...(p.file ? { locations: [location(p.file, p.at)] } : {}),
                })),
              ...outcome.incomplete.map((x) => ({
                level: 'warning',
                descriptor: { id: `incomplete/${x.kind}` },
                message: { text: `not checked: ${incompleteLine(x)}` },
                ...(x.file ? { locations: [location(x.file, { line: 0, column: 0, endLine: 0, endColumn: 0 })] } : {}),
              })),
            ],
          },
        ],
      },
    ],
  };
}

function result(f: Finding, classes: FindingClass[]) {
  return {
    ruleId: f.class,
    ruleIndex: classes.indexOf(f.class),
    level: f.severity,
    message: { text: f.message },
    locations: [location(f.file, f.at)],
    partialFingerprints: { lockpathId: f.id },
    relatedLocations: f.chain.hops.map((h, i) => ({
      id: i,
      ...location(
        h.file,
        { line: h.line, column: h.column, endLine: h.line, endColumn: h.column + h.function.length },
        i === 0 ? `entry ${h.function} (${h.via})` : `calls ${h.function}`,
      ),
    })),
    codeFlows: [
      {
        message: { text: `witness: ${f.witness.length} steps` },
        threadFlows: [...new Set(f.witness.map((s) => s.lane))].sort().map((lane) => ({
          id: String(lane),
          message: { text: f.witness.find((s) => s.lane === lane)?.thread ?? '' },
          locations: f.witness
            .map((s, order) => ({ s, order }))
            .filter(({ s }) => s.lane === lane)
            .map(({ s, order }) => threadFlowLocation(s, order)),
        })),
      },
    ],
  };
}

function threadFlowLocation(s: WitnessStep, order: number) {
  return {
    executionOrder: order + 1,
    importance: s.hazard ? 'essential' : 'important',
    location: location(s.file, s.at, `${s.thread}: ${s.action}`),
  };
}

function pathToFileUri(p: string): string {
  const abs = p.endsWith('/') ? p : `${p}/`;
  return `file://${encodeURI(abs)}`;
}
