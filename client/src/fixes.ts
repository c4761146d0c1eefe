// Client-side help for quick fixes and settings: a fix that edits a function far from the race reveals what it
// changed once applied (the server marks such edits needsConfirmation, so VS Code previews them first), and the
// assumption checkboxes are sent as the overrides the user actually set.
import * as vscode from 'vscode';

export const REVEAL_EDIT = 'lockpath.revealEdit';

/** Each quick fix runs REVEAL_EDIT after its edit: VS Code applies an action's edit, then its command. */
export function withReveal<T>(actions: T): T {
  if (!Array.isArray(actions)) return actions;
  for (const a of actions) {
    if (!(a instanceof vscode.CodeAction) || !a.edit || a.command) continue;
    try {
      const targets = a.edit.entries().flatMap(([uri, edits]) =>
        edits.map((e) => ({
          uri: uri.toString(),
          line: e.range.start.line,
          character: e.range.start.character,
          lines: (e.newText ?? '').split('\n').length - 1,
        })),
      );
      if (targets.length) a.command = { title: 'Reveal the edit', command: REVEAL_EDIT, arguments: [targets] };
    } catch {
      // Revealing is a courtesy: the fix stays offered without it.
    }
  }
  return actions;
}

/** Shows the first edited range that is not in view (else the first one), selected, in the middle of the editor. */
export async function revealEdits(
  targets: { uri: string; line: number; character: number; lines: number }[],
): Promise<void> {
  if (!Array.isArray(targets) || !targets.length) return;
  const visible = (t: (typeof targets)[number]): boolean =>
    vscode.window.visibleTextEditors.some(
      (e) =>
        e.document.uri.toString() === t.uri &&
        e.visibleRanges.some((r) => r.start.line <= t.line && t.line + t.lines <= r.end.line),
    );
  const t = targets.find((x) => !visible(x)) ?? targets[0];
  const range = new vscode.Range(t.line, 0, t.line + t.lines, 0);
  const editor = await vscode.window.showTextDocument(vscode.Uri.parse(t.uri), {
    preserveFocus: false,
    preview: false,
  });
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  vscode.window.setStatusBarMessage(
    `lockpath: the fix changed ${vscode.workspace.asRelativePath(editor.document.uri)}:${t.line + 1}`,
    8000,
  );
}

/** The lockpath.assumption.<id> checkboxes the user set (in any scope); unset ones are left to the model file. */
export function assumptionOverrides(): Record<string, boolean> {
  const config = vscode.workspace.getConfiguration('lockpath');
  const out: Record<string, boolean> = {};
  const raw = config.get<Record<string, unknown>>('assumption') ?? {};
  for (const id of Object.keys(raw)) {
    const i = config.inspect<boolean>(`assumption.${id}`);
    const set = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
    if (typeof set === 'boolean') out[id] = set;
  }
  return out;
}
