// Answers of the custom requests (lockpath/chains, lockpath/explain, lockpath/raceTimeline), also served as
// workspace/executeCommand results for editors that have no client-side commands.
import { escapeMd, explainMarkdown, findingById, findingMarkdown, pathLinks, pointRange, rangeOf, witnessText, type Env } from './format';
import type { ChainsResult, ExplainResult, PlaceJson, RaceTimelineResult } from './protocol';
import { timelineSvg } from '../report/timeline';

export function chainsResult(env: Env, name?: string): ChainsResult {
  const snap = env.snap;
  const chains = name ? snap.chains.filter((c) => c.path.includes(name)) : snap.chains;
  const def = name ? snap.functions.find((f) => f.name === name) : undefined;
  const md = [name ? `## chains through ${escapeMd(name)}` : `## all stage-2 chains`, ''];
  if (!chains.length) md.push(name ? `no stage-2 chain passes through ${escapeMd(name)}` : 'no stage-2 chains in the indexed files');
  for (const c of chains) md.push(`- **${c.verdict}** · ${escapeMd(c.contextLabel)} ${escapeMd(c.hook)} (${escapeMd(c.via)}): ${pathLinks(env, c)}`);
  return {
    name,
    definition: def ? { uri: env.uriOf(def.file), range: rangeOf(def.nameSpan) } : undefined,
    chains: chains.map((c) => ({
      id: c.id,
      context: c.context,
      contextLabel: c.contextLabel,
      via: c.entry.via,
      verdict: c.verdict,
      reason: c.reason,
      path: c.path,
      locations: c.hops.map((h): PlaceJson => ({ uri: env.uriOf(h.file), range: pointRange(h.line, h.column, h.via === 'direct' || h === c.hops[0] ? h.function.length : 0) })),
      findings: c.findings,
    })),
    markdown: md.join('\n'),
  };
}

export function explainResult(env: Env, name: string): ExplainResult {
  const { found, markdown } = explainMarkdown(env, name);
  return { name, found, markdown };
}

export function raceTimelineResult(env: Env, id: string): RaceTimelineResult {
  const f = findingById(env.snap, id);
  if (!f) return { id, found: false, title: `no finding ${id} in the latest analysis`, text: '', markdown: '', steps: [], svg: '', uris: {} };
  const title = `${f.id} ${f.class}: ${f.contextLabel} ${f.hook} (${f.via}) in ${f.function}`;
  const text = [title, '', f.message, '', witnessText(f.witness)].join('\n');
  return {
    id,
    found: true,
    title,
    text,
    markdown: findingMarkdown(env, f),
    svg: timelineSvg(f.json),
    uris: Object.fromEntries([...new Set(f.witness.map((s) => s.file))].map((file) => [file, env.uriOf(file)])),
    steps: f.witness.map((s) => ({
      thread: s.thread,
      lane: s.lane,
      action: s.action,
      function: s.function,
      place: { uri: env.uriOf(s.file), range: rangeOf(s.at) },
      locks: s.locks,
      ...(s.hazard ? { hazard: true } : {}),
    })),
  };
}

