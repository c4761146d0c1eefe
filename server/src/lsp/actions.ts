// Quick fixes: the fixes the analysis proposes for the findings under the cursor, the preferred one first, each as
// a WorkspaceEdit (versioned when the client supports it, so an edit computed for an older text is refused).
import {
  CodeActionKind,
  type AnnotatedTextEdit,
  type ChangeAnnotation,
  type CodeAction,
  type CodeActionContext,
  type Diagnostic,
  type Range,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver/node';
import type { Fix } from '../analysis/fixes';
import { findingDiagnostics, SOURCE, type DiagnosticData } from './diagnostics';
import { rangeOf, rangesMeet, type Env } from './format';
import type { FnView } from './snapshot';

export interface ActionOptions {
  documentChanges: boolean;
  /** The client understands change annotations: a fix that edits away from the race (another function or file)
   *  is also offered as "Preview: ...", its far edits marked needsConfirmation, which the client previews. */
  annotations?: boolean;
  /** The editor version of an open document, by key (null: not open). */
  versionOf(key: string): number | null;
}

export function codeActions(
  env: Env,
  key: string,
  range: Range,
  context: CodeActionContext,
  opts: ActionOptions,
): CodeAction[] {
  if (
    context.only &&
    !context.only.some(
      (k) => k === CodeActionKind.QuickFix || k === CodeActionKind.Empty || CodeActionKind.QuickFix.startsWith(`${k}.`),
    )
  )
    return [];
  const ours = context.diagnostics.filter(
    (d) => d.source === SOURCE && Array.isArray((d.data as DiagnosticData | undefined)?.findings),
  );
  // Clients that do not echo diagnostics (or their data) get the findings whose place meets the range.
  const diagnostics: Diagnostic[] = ours.length
    ? ours
    : findingDiagnostics(env, key).filter((d) => rangesMeet(d.range, range));
  const ids = new Set(diagnostics.flatMap((d) => (d.data as DiagnosticData).findings));

  const merged = new Map<string, { fix: Fix; findings: Set<string> }>();
  for (const id of ids) {
    for (const fix of env.snap.fixes[id] ?? []) {
      const k = JSON.stringify(fix.edits);
      const e = merged.get(k);
      if (e) {
        e.findings.add(id);
        e.fix = e.fix.preferred ? e.fix : fix.preferred ? fix : e.fix;
      } else merged.set(k, { fix, findings: new Set([id]) });
    }
  }
  const fixes = [...merged.values()].sort((a, b) => Number(b.fix.preferred) - Number(a.fix.preferred));
  // Several findings under the cursor, each with its own preferred fix (kvm_age_hva and kvm_test_age_hva): one
  // action applies them all and is the one preferred (an editor auto-applies a preferred fix only when it is alone).
  const preferred = fixes.filter((f) => f.fix.preferred);
  const combined = preferred.length > 1 ? combine(preferred.map((p) => p.fix)) : undefined;
  const actions: CodeAction[] = [];
  const action = (fix: Fix, findings: Set<string>, isPreferred: boolean): CodeAction => ({
    title: fix.title,
    kind: CodeActionKind.QuickFix,
    isPreferred,
    diagnostics: diagnostics.filter((d) => (d.data as DiagnosticData).findings.some((id) => findings.has(id))),
    edit: workspaceEdit(env, fix, opts),
    data: { findings: [...findings].sort() },
  });
  if (combined) actions.push(action(combined, new Set(preferred.flatMap((p) => [...p.findings])), true));
  for (const { fix, findings } of fixes) actions.push(action(fix, findings, fix.preferred && !combined));
  // A fix that edits away from the race is also offered as a preview (last, never preferred): the same edit with
  // its far edits annotated needsConfirmation, which makes the client show them for review before applying.
  // The plain action stays one keystroke (a client leaves annotated edits unticked in its preview).
  if (opts.documentChanges && opts.annotations) {
    for (const a of [...actions]) {
      const fix = a === actions[0] && combined ? combined : fixes.find((f) => f.fix.title === a.title)?.fix;
      if (!fix || !awayFromRace(env, fix).size) continue;
      actions.push({
        ...a,
        title: `Preview: ${a.title}`,
        isPreferred: false,
        edit: workspaceEdit(env, fix, opts, true),
      });
    }
  }
  return actions;
}

/** The preferred fixes of several findings as one, when their edits do not overlap. */
function combine(fixes: readonly Fix[]): Fix | undefined {
  const edits = fixes.flatMap((f) => f.edits);
  const key = (e: Fix['edits'][number]): [number, number, number, number] => [
    e.span.line,
    e.span.column,
    e.span.endLine,
    e.span.endColumn,
  ];
  const sorted = [...edits].sort(
    (a, b) => a.file.localeCompare(b.file) || key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1],
  );
  for (let i = 1; i < sorted.length; i++) {
    const [p, q] = [sorted[i - 1], sorted[i]];
    if (p.file !== q.file) continue;
    const endsAfter =
      p.span.endLine > q.span.line || (p.span.endLine === q.span.line && p.span.endColumn > q.span.column);
    const same = key(p).join() === key(q).join();
    if (endsAfter || same) return undefined;
  }
  return {
    title: `Apply the ${fixes.length} preferred fixes here: ${fixes.map((f) => f.title).join('; ')}`,
    explanation: fixes.map((f) => f.explanation).join('\n\n'),
    preferred: true,
    findingId: fixes[0].findingId,
    edits,
  };
}

/** `preview`: annotate the edits away from the race needsConfirmation (the client supports annotations). */
export function workspaceEdit(env: Env, fix: Fix, opts: ActionOptions, preview = false): WorkspaceEdit {
  const away =
    preview && opts.documentChanges && opts.annotations ? awayFromRace(env, fix) : new Set<Fix['edits'][number]>();
  const byFile = new Map<string, (TextEdit | AnnotatedTextEdit)[]>();
  for (const e of fix.edits) {
    const edit: TextEdit | AnnotatedTextEdit = {
      range: rangeOf(e.span),
      newText: e.newText,
      ...(away.has(e) ? { annotationId: AWAY } : {}),
    };
    byFile.set(e.file, [...(byFile.get(e.file) ?? []), edit]);
  }
  if (opts.documentChanges) {
    const edit: WorkspaceEdit = {
      documentChanges: [...byFile].map(([file, edits]) => ({
        textDocument: { uri: env.uriOf(file), version: opts.versionOf(file) },
        edits,
      })),
    };
    if (away.size) {
      const where = [
        ...new Set(
          [...away].map(
            (e) =>
              `${functionAt(env, e.file, e.span.line)?.name ?? e.file} (${e.file.slice(e.file.lastIndexOf('/') + 1)}:${e.span.line + 1})`,
          ),
        ),
      ];
      const annotation: ChangeAnnotation = {
        label: `lockpath: edits ${where.join(', ')}, away from the race`,
        description: 'The fix changes code outside the function where the race is reported: review it before applying.',
        needsConfirmation: true,
      };
      edit.changeAnnotations = { [AWAY]: annotation };
    }
    return edit;
  }
  return { changes: Object.fromEntries([...byFile].map(([file, edits]) => [env.uriOf(file), edits])) };
}

const AWAY = 'lockpath.awayFromRace';

function functionAt(env: Env, file: string, line: number): FnView | undefined {
  return env.snap.functions.find((f) => f.file === file && f.span.line <= line && line <= f.span.endLine);
}

/** The edits of a fix outside the function that holds its finding's access. */
function awayFromRace(env: Env, fix: Fix): Set<Fix['edits'][number]> {
  const finding = env.snap.findings.find((f) => f.id === fix.findingId);
  const home = finding ? functionAt(env, finding.file, finding.at.line) : undefined;
  return new Set(
    fix.edits.filter(
      (e) => !home || e.file !== home.file || e.span.line < home.span.line || e.span.endLine > home.span.endLine,
    ),
  );
}
