// The SVG race timeline on the bundled v4.12 example's findings: well-formed XML, one lane per thread, one row per
// witness step, the lock spans, the hazard, escaping, links, and the same bytes every time.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { reportJson, type FindingJson, type StepJson } from '../../server/src/report/json';
import { stepKind, timelineSvg } from '../../server/src/report/timeline';
import { analyzeDir, exampleDir } from '../helpers';
import { allElements, byClass, parseXml, textOf, type XmlElement } from './xml';

const LOCK = 'kvm->mmu_lock';
let findings: FindingJson[];
before(async () => {
  findings = reportJson(await analyzeDir(exampleDir), 'test').findings;
  assert.equal(findings.length, 3, 'the example has three findings');
});

const lanesOf = (f: FindingJson): number[] => [...new Set(f.witness.map((s) => s.lane))].sort();
const steps = (svg: XmlElement): XmlElement[] => byClass(svg, 'lp-step');

describe('timelineSvg on the v4.12 example', () => {
  it('is well-formed XML with an svg root', () => {
    for (const f of findings) {
      const svg = parseXml(timelineSvg(f));
      assert.equal(svg.name, 'svg');
      assert.equal(svg.attrs.xmlns, 'http://www.w3.org/2000/svg');
      assert.match(svg.attrs.viewBox, /^0 0 \d+ \d+$/);
    }
  });

  it('has exactly two lanes, titled with the two thread names', () => {
    for (const f of findings) {
      const titles = byClass(parseXml(timelineSvg(f)), 'lp-lane-title').map(textOf);
      assert.equal(titles.length, 2);
      assert.deepEqual(
        titles,
        lanesOf(f).map((l) => f.witness.find((s) => s.lane === l)!.thread),
      );
      assert.match(titles[0], /^mmu notifier: kvm_(test_)?age_hva$/);
      assert.equal(titles[1], 'exit_mmap: kvm_free_stage2_pgd');
    }
  });

  it('has one row per witness step, in order, each labelled with its action and file:line', () => {
    for (const f of findings) {
      const rows = steps(parseXml(timelineSvg(f)));
      assert.equal(rows.length, f.witness.length);
      rows.forEach((row, i) => {
        const step = f.witness[i];
        assert.equal(row.attrs['data-index'], String(i + 1));
        assert.equal(row.attrs['data-lane'], String(step.lane));
        const action = byClass(row, 'lp-action').map((e) =>
          e.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join(' '),
        )[0];
        assert.equal(action, step.action.replace(/\s+/g, ' '));
        assert.ok(textOf(byClass(row, 'lp-where')[0]).includes(`${step.file}:${step.line}`));
      });
    }
  });

  it(`shades the span during which each lane holds ${LOCK}, from the step that takes it to the step that drops it`, () => {
    for (const f of findings) {
      const spans = byClass(parseXml(timelineSvg(f)), 'lp-lock').map((e) => ({
        lane: e.attrs['data-lane'],
        lock: e.attrs['data-lock'],
        from: e.attrs['data-from'],
        to: e.attrs['data-to'],
      }));
      const take = (lane: number): number => f.witness.findIndex((s) => s.lane === lane && s.locks.includes(LOCK)) + 1;
      const drop = f.witness.findIndex((s, i) => s.lane === 1 && i >= take(1) && !s.locks.includes(LOCK)) + 1;
      assert.match(f.witness[drop - 1].action, /spin_unlock/);
      // The teardown takes the lock first and drops it; then the notifier takes it and still holds it at the hazard.
      assert.deepEqual(spans, [
        { lane: '0', lock: LOCK, from: String(take(0)), to: 'end' },
        { lane: '1', lock: LOCK, from: String(take(1)), to: String(drop) },
      ]);
    }
  });

  it('marks the hazard step (and only it), and the free-side step it conflicts with', () => {
    for (const f of findings) {
      const svg = parseXml(timelineSvg(f));
      const hazards = byClass(svg, 'lp-hazard');
      assert.equal(hazards.length, 1);
      const at = f.witness.findIndex((s) => s.hazard) + 1;
      assert.equal(hazards[0].attrs['data-index'], String(at));
      assert.equal(byClass(hazards[0], 'lp-hazard-mark').length, 1);
      assert.equal(byClass(svg, 'lp-hazard-row').length, 1);
      const freeSide = byClass(svg, 'lp-free-side');
      assert.equal(freeSide.length, 1);
      assert.equal(freeSide[0].attrs['data-kind'], 'clear');
      assert.match(textOf(freeSide[0]), new RegExp(`seen by step ${at}`));
    }
  });

  it('draws guard, clear, lock and dereference steps with their own markers', () => {
    const kinds = steps(parseXml(timelineSvg(findings[0]))).map((e) => e.attrs['data-kind']);
    for (const k of ['lock', 'unlock', 'guard', 'read', 'teardown', 'clear', 'deref'])
      assert.ok(kinds.includes(k), `${k} in ${kinds.join(',')}`);
    const heldBefore: string[] = [];
    assert.equal(stepKind(step({ action: 'kvm_free_hwpgd() frees the stage-2 tables' }), heldBefore), 'free');
    assert.equal(stepKind(step({ action: 'cond_resched_lock retakes kvm->mmu_lock', locks: [LOCK] }), [LOCK]), 'lock');
    assert.equal(stepKind(step({ action: 'cond_resched_lock drops kvm->mmu_lock' }), [LOCK]), 'unlock');
  });

  it('escapes text: actions, thread names and files with <&>"\' survive as text', () => {
    const nasty = 'checks `a<b && c>d`: "quoted" \'single\' </text><script>x</script>';
    const f = structuredClone(findings[0]);
    f.witness[0] = { ...f.witness[0], action: nasty, thread: 'T<&>"', file: 'dir/a&b<c>.c' };
    for (const s of f.witness) if (s.lane === f.witness[0].lane) s.thread = 'T<&>"';
    f.id = 'LP"<&>';
    const text = timelineSvg(f);
    assert.ok(!text.includes('<script'), 'no markup comes through');
    const svg = parseXml(text);
    const first = steps(svg)[0];
    assert.equal(
      byClass(first, 'lp-action').map((e) =>
        e.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join(' '),
      )[0],
      nasty,
    );
    assert.equal(first.attrs['data-file'], 'dir/a&b<c>.c');
    assert.ok(byClass(svg, 'lp-lane-title').map(textOf).includes('T<&>"'));
    assert.equal(svg.attrs['data-finding'], 'LP"<&>');
  });

  it('makes each step clickable: data-file/data-line always, an <a href> when given links', () => {
    const f = findings[0];
    const plain = parseXml(timelineSvg(f));
    assert.equal(allElements(plain).filter((e) => e.name === 'a').length, 0);
    for (const [i, e] of steps(plain).entries()) {
      assert.equal(e.attrs['data-file'], f.witness[i].file);
      assert.equal(e.attrs['data-line'], String(f.witness[i].line));
    }
    const linked = parseXml(timelineSvg(f, { linkFor: (file, line) => `vscode://file/k/${file}:${line}?a=1&b=2` }));
    const anchors = allElements(linked).filter((e) => e.name === 'a');
    assert.equal(anchors.length, f.witness.length);
    anchors.forEach((a, i) =>
      assert.equal(a.attrs.href, `vscode://file/k/${f.witness[i].file}:${f.witness[i].line}?a=1&b=2`),
    );
  });

  it('is themed with VS Code variables that fall back to fixed colours', () => {
    const text = timelineSvg(findings[0]);
    assert.match(text, /fill: var\(--vscode-editor-foreground, #333\)/);
    assert.match(text, /var\(--vscode-charts-red, #[0-9a-f]{6}\)/);
    assert.doesNotMatch(text, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no URL but the SVG namespace');
  });

  it('is deterministic: the same finding gives the same bytes, from a fresh analysis too', async () => {
    const again = reportJson(await analyzeDir(exampleDir), 'test').findings;
    findings.forEach((f, i) => {
      assert.equal(timelineSvg(f), timelineSvg(f));
      assert.equal(timelineSvg(again[i]), timelineSvg(f));
    });
  });

  it('draws a lock dropped and retaken inside one lane as two spans, and handles a one-step witness', () => {
    const f = structuredClone(findings[0]);
    const at = { function: 'kvm_free_stage2_pgd', file: 'mmu.c', line: 1, column: 1 };
    f.witness = [
      { ...at, thread: 'teardown', lane: 1, action: `spin_lock(${LOCK})`, locks: [LOCK] },
      { ...at, thread: 'teardown', lane: 1, action: `cond_resched_lock drops ${LOCK}`, locks: [] },
      { ...at, thread: 'teardown', lane: 1, action: `cond_resched_lock retakes ${LOCK}`, locks: [LOCK] },
      { ...at, thread: 'notifier', lane: 0, action: 'dereferences *pgd: NULL', locks: [], hazard: true },
    ];
    delete f.freeSide;
    const spans = byClass(parseXml(timelineSvg(f)), 'lp-lock').map(
      (e) => `${e.attrs['data-from']}-${e.attrs['data-to']}`,
    );
    assert.deepEqual(spans, ['1-2', '3-end']);
    f.witness = f.witness.slice(3);
    assert.equal(steps(parseXml(timelineSvg(f))).length, 1);
  });
});

function step(p: Partial<StepJson>): StepJson {
  return { thread: 't', lane: 1, action: '', function: 'f', file: 'f.c', line: 1, column: 1, locks: [], ...p };
}
