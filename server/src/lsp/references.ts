// textDocument/references on the modelled resource: asked on an access (pgd in kvm->arch.pgd) or on the field's
// declaration in its struct, it answers every read, dereference, test, write and free of the resource in the
// indexed tree (the facts' uses, with the locks held at each). The hover on the field summarizes the same uses by
// context and lock.
import type { Location, Position } from 'vscode-languageserver/node';
import { escapeMd, lockNames, rangeOf, spanHas, wordAt, type Env } from './format';
import type { FnView } from './snapshot';

type Use = FnView['uses'][number];

/** Every access of the resource in the indexed tree, in file and line order. */
export function resourceUses(env: Env): { fn: FnView; use: Use }[] {
  const out: { fn: FnView; use: Use }[] = [];
  for (const fn of env.snap.functions) for (const use of fn.uses) out.push({ fn, use });
  return out.sort(
    (a, b) => a.fn.file.localeCompare(b.fn.file) || a.use.at.line - b.use.at.line || a.use.at.column - b.use.at.column,
  );
}

/**
 * Is the cursor on the resource: inside one of its uses, or on its field name where the line accesses it
 * (`->arch.pgd`, `.pgd`) or declares it outside any function (`pgd_t *pgd;` in struct kvm_arch)?
 */
export function isResourceField(env: Env, key: string, text: string, p: Position, word: string): boolean {
  const snap = env.snap;
  if (word !== snap.model.resourceShort) return false;
  if (snap.functions.some((f) => f.file === key && f.uses.some((u) => spanHas(u.at, p)))) return true;
  const line = text.split('\n')[p.line] ?? '';
  const field = escapeRe(word);
  const inFunction = snap.functions.some((f) => f.file === key && spanHas(f.span, p));
  if (new RegExp(`(->|\\.)\\s*${field}\\b`).test(line)) return true;
  return !inFunction && new RegExp(`^\\s*[A-Za-z_][\\w\\s]*[\\s*]${field}\\s*(\\[[^\\]]*\\])?\\s*;`).test(line);
}

export function references(
  env: Env,
  key: string,
  text: string,
  p: Position,
  includeDeclaration: boolean,
): Location[] | null {
  const w = wordAt(text, p);
  if (!w || !isResourceField(env, key, text, p, w.word)) return null;
  const out: Location[] = resourceUses(env).map(({ fn, use }) => ({ uri: env.uriOf(fn.file), range: rangeOf(use.at) }));
  // The declaration is known only when it is the place asked about (the snapshot holds no struct definitions).
  const onUse = out.some((l) => l.uri === env.uriOf(key) && spanHas(toSpan(l.range), p));
  if (includeDeclaration && !onUse) out.unshift({ uri: env.uriOf(key), range: w.range });
  return out;
}

const KIND_WORDS: Record<Use['kind'], [string, string]> = {
  read: ['read', 'reads'],
  deref: ['dereference', 'dereferences'],
  guard: ['test', 'tests'],
  write: ['write', 'writes'],
  free: ['free', 'frees'],
};

function count(n: number, kind: Use['kind']): string {
  return `${n} ${KIND_WORDS[kind][n === 1 ? 0 : 1]}`;
}

/** "**kvm->arch.pgd**: 19 accesses in 9 functions", then one line per context: kinds with the locks held. */
export function fieldSummary(env: Env): string {
  const snap = env.snap;
  const uses = resourceUses(env);
  const fns = new Set(uses.map((u) => u.fn.name));
  // The locks held at a use: the function's own there, plus what its callers hold on entering it, chain by chain
  // (a walker called under kvm->mmu_lock takes no lock itself).
  const entering = new Map<string, { context: string; locks: string[] }[]>();
  for (const c of snap.chains) {
    c.path.forEach((name, i) =>
      entering.set(name, [...(entering.get(name) ?? []), { context: c.contextLabel, locks: c.locksAt[i] ?? [] }]),
    );
  }
  // context -> "kind|locks" -> count of uses
  const table = new Map<string, Map<string, number>>();
  for (const { fn, use } of uses) {
    const ways = entering.get(fn.name) ?? [{ context: 'not on a stage-2 chain', locks: [] }];
    const seen = new Set<string>();
    for (const way of ways) {
      const k = `${use.kind}|${lockNames(env, [...new Set([...way.locks, ...use.locksHeld])].sort())}`;
      if (seen.has(`${way.context}|${k}`)) continue;
      seen.add(`${way.context}|${k}`);
      const row = table.get(way.context) ?? new Map<string, number>();
      row.set(k, (row.get(k) ?? 0) + 1);
      table.set(way.context, row);
    }
  }
  const order: Use['kind'][] = ['free', 'write', 'deref', 'read', 'guard'];
  const lines = [...table]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ctx, row]) => {
      const parts = [...row]
        .sort(
          ([a], [b]) => order.indexOf(a.split('|')[0] as Use['kind']) - order.indexOf(b.split('|')[0] as Use['kind']),
        )
        .map(([k, n]) => {
          const [kind, locks] = k.split('|');
          return `${count(n, kind as Use['kind'])} (${locks === 'none' ? 'no lock' : locks})`;
        });
      return `- ${escapeMd(ctx)}: ${escapeMd(parts.join(', '))}`;
    });
  const head = `**${escapeMd(snap.model.resource)}**: ${uses.length} access${uses.length === 1 ? '' : 'es'} in ${fns.size} function${fns.size === 1 ? '' : 's'} (Find All References lists them), by context and lock held:`;
  return [head, '', ...lines].join('\n');
}

function toSpan(r: Location['range']): { line: number; column: number; endLine: number; endColumn: number } {
  return { line: r.start.line, column: r.start.character, endLine: r.end.line, endColumn: r.end.character };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
