// Call hierarchy over lockpath's call graph (calls through function-pointer parameters, tables and ops fields
// included); each item's detail names the execution contexts whose stage-2 chains pass through it.
import {
  SymbolKind,
  type CallHierarchyIncomingCall,
  type CallHierarchyItem,
  type CallHierarchyOutgoingCall,
  type Position,
  type Range,
} from 'vscode-languageserver/node';
import { rangeOf, spanHas, wordAt, type Env } from './format';
import type { FnView } from './snapshot';

interface ItemData {
  name: string;
  file: string;
}

export function contextsOf(env: Env, fn: { name: string; file: string }): string[] {
  const labels = new Set<string>();
  for (const c of env.snap.chains)
    if (c.path.some((n, i) => n === fn.name && c.defs[i]?.file === fn.file)) labels.add(c.contextLabel);
  return [...labels].sort();
}

export function itemOf(env: Env, fn: FnView): CallHierarchyItem {
  const contexts = contextsOf(env, fn);
  return {
    name: fn.name,
    kind: SymbolKind.Function,
    uri: env.uriOf(fn.file),
    range: rangeOf(fn.span),
    selectionRange: rangeOf(fn.nameSpan),
    detail: contexts.length ? contexts.join(', ') : 'no stage-2 chain',
    data: { name: fn.name, file: fn.file } satisfies ItemData,
  };
}

export function prepareCallHierarchy(
  env: Env,
  key: string,
  text: string,
  p: Position,
  fresh: boolean,
): CallHierarchyItem[] | null {
  const w = wordAt(text, p);
  if (!w) return null;
  const defs = env.snap.functions.filter((f) => f.name === w.word);
  if (!defs.length) return null;
  // On a definition: that one. On a call: what the call resolves to from this file.
  const own = fresh ? defs.find((d) => d.file === key && spanHas(d.nameSpan, p)) : undefined;
  const pick = own ? [own] : defs.some((d) => d.file === key) ? defs.filter((d) => d.file === key) : defs;
  return pick.map((d) => itemOf(env, d));
}

function fnOf(env: Env, item: CallHierarchyItem): FnView | undefined {
  const data = item.data as ItemData | undefined;
  const name = data?.name ?? item.name;
  return (
    env.snap.functions.find((f) => f.name === name && (!data || f.file === data.file)) ??
    env.snap.functions.find((f) => f.name === name)
  );
}

export function incomingCalls(env: Env, item: CallHierarchyItem): CallHierarchyIncomingCall[] {
  const target = fnOf(env, item);
  if (!target) return [];
  const out: CallHierarchyIncomingCall[] = [];
  for (const caller of env.snap.functions) {
    const ranges: Range[] = caller.calls
      .filter((s) => s.targets.some((t) => t.name === target.name && t.file === target.file))
      .map((s) => rangeOf(s.at));
    if (ranges.length) out.push({ from: itemOf(env, caller), fromRanges: ranges });
  }
  return out;
}

export function outgoingCalls(env: Env, item: CallHierarchyItem): CallHierarchyOutgoingCall[] {
  const fn = fnOf(env, item);
  if (!fn) return [];
  const byTarget = new Map<string, { to: FnView; ranges: Range[] }>();
  for (const s of fn.calls) {
    for (const t of s.targets) {
      const to = env.snap.functions.find((f) => f.name === t.name && f.file === t.file);
      if (!to) continue;
      const k = `${t.file}\0${t.name}`;
      const e = byTarget.get(k) ?? { to, ranges: [] };
      e.ranges.push(rangeOf(s.at));
      byTarget.set(k, e);
    }
  }
  return [...byTarget.values()].map((e) => ({ to: itemOf(env, e.to), fromRanges: e.ranges }));
}
