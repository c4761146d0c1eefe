// Answers of the custom requests (lockpath/chains, lockpath/explain, lockpath/raceTimeline), also served as
// workspace/executeCommand results for editors that have no client-side commands.
import {
  countRaces,
  escapeMd,
  explainMarkdown,
  findingById,
  findingMarkdown,
  findingName,
  hazardWords,
  lockNames,
  pathLinks,
  pointRange,
  rangeOf,
  type Env,
} from './format';
import type { ChainsResult, ExplainResult, FindingsResult, PlaceJson, RaceTimelineResult } from './protocol';
import { timelineSvg } from '../report/timeline';

export function chainsResult(env: Env, name?: string): ChainsResult {
  const snap = env.snap;
  const chains = name ? snap.chains.filter((c) => c.path.includes(name)) : snap.chains;
  const def = name ? snap.functions.find((f) => f.name === name) : undefined;
  const md = [name ? `## chains through ${escapeMd(name)}` : `## all stage-2 chains`, ''];
  if (!chains.length)
    md.push(name ? `no stage-2 chain passes through ${escapeMd(name)}` : 'no stage-2 chains in the indexed files');
  for (const c of chains)
    md.push(
      `- **${c.verdict}** · ${escapeMd(c.contextLabel)} ${escapeMd(c.hook)} (${escapeMd(c.via)}): ${pathLinks(env, c)}`,
    );
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
      locations: c.hops.map((h): PlaceJson => ({
        uri: env.uriOf(h.file),
        range: pointRange(h.line, h.column, h.via === 'direct' || h === c.hops[0] ? h.function.length : 0),
      })),
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
  if (!f)
    return {
      id,
      found: false,
      title: `no finding ${id} in the latest analysis`,
      text: '',
      markdown: '',
      steps: [],
      svg: '',
      uris: {},
    };
  const title = `${findingName(f)} (${f.function})`;
  // The plain-text form names the steps one a line (editors without the picture show it; no ASCII lanes to wrap).
  const text = [
    title,
    '',
    f.message,
    '',
    ...f.witness.map((s) => `${s.hazard ? '!! ' : ''}${s.thread}: ${s.action} (${s.file}:${s.at.line + 1})`),
  ].join('\n');
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

/** Every finding by name, each with its chain in call order and its witness lane by lane. */
export function findingsResult(env: Env): FindingsResult {
  const snap = env.snap;
  const place = (
    file: string,
    at: { line: number; column: number; endLine: number; endColumn: number },
  ): PlaceJson => ({ uri: env.uriOf(file), range: rangeOf(at) });
  const order = (a: { file: string; at: { line: number } }, b: { file: string; at: { line: number } }): number =>
    a.file.localeCompare(b.file) || a.at.line - b.at.line;
  return {
    summary: countRaces(snap.findings),
    findings: [...snap.findings]
      .sort((a, b) => order(a, b) || findingName(a).localeCompare(findingName(b)))
      .map((f) => {
        const chain = snap.chains.find((c) => c.id === f.chainId);
        const hops = (chain?.hops ?? []).map((h, i) => ({
          label:
            i === 0
              ? `${chain!.contextLabel} enters ${h.function} via ${chain!.entry.via}`
              : `${chain!.hops[i - 1].function} calls ${h.function}${h.via === 'direct' ? '' : ` (${h.via})`}`,
          place: {
            uri: env.uriOf(h.file),
            range: pointRange(h.line, h.column, i === 0 || h.via === 'direct' ? h.function.length : 0),
          },
          locks: (chain!.locksAt[i] ?? []).map((l) => lockNames(env, [l])),
        }));
        const lanes = new Map<number, FindingsResult['findings'][number]['lanes'][number]>();
        f.witness.forEach((s, step) => {
          const lane = lanes.get(s.lane) ?? { thread: s.thread, steps: [] };
          lane.steps.push({
            step: step + 1,
            action: s.action,
            place: place(s.file, s.at),
            ...(s.hazard ? { hazard: true } : {}),
          });
          lanes.set(s.lane, lane);
        });
        return {
          id: f.id,
          name: findingName(f),
          class: f.class,
          title: f.title,
          severity: f.severity,
          hazard: hazardWords(snap.model.resource, f.kind),
          function: f.function,
          place: place(f.file, f.at),
          hops,
          lanes: [...lanes].sort(([a], [b]) => a - b).map(([, l]) => l),
        };
      }),
  };
}
