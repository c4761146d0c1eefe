// The argument parser (util.parseArgs underneath): every flag, the new commands, and the messages for bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs } from '../../server/src/cli/args';

describe('parseArgs', () => {
  it('reads the check flags as before', () => {
    const a = parseArgs([
      'check',
      '--json',
      '--model',
      'm.json',
      '--no-model-file',
      '--assume',
      'vcpu-thread-pins-mm=off',
      '--assume=vm-fd-pins-kvm=on',
      '--include',
      'a/**',
      '--include=b/**',
      '--exclude',
      'c/**',
      '--max-states',
      '10',
      '--max-file-size=2000',
      '--verbose',
      '--no-cache',
      'tree',
    ]);
    assert.equal(a.command, 'check');
    assert.deepEqual(a.paths, ['tree']);
    assert.equal(a.model, 'm.json');
    assert.deepEqual(a.assume, [
      ['vcpu-thread-pins-mm', false],
      ['vm-fd-pins-kvm', true],
    ]);
    assert.deepEqual([a.include, a.exclude], [['a/**', 'b/**'], ['c/**']]);
    assert.deepEqual(
      [a.maxStates, a.maxFileBytes, a.verbose, a.cache, a.noModelFile, a.json],
      [10, 2000, true, false, true, true],
    );
    assert.equal(a.failOn, 'incomplete');
    assert.equal(parseArgs(['--sarif']).sarif, '-');
    assert.equal(parseArgs(['--sarif=out.sarif', 'x']).sarif, 'out.sarif');
    assert.equal(parseArgs(['explain', 'stage2_get_pud', 'tree']).function, 'stage2_get_pud');
    assert.equal(parseArgs(['serve', '--stdio']).stdio, true);
    assert.equal(parseArgs(['demo']).command, 'demo');
  });

  it('reads review, history, --baseline, --format, --shard and --fail-on', () => {
    const r = parseArgs(['review', 'v4.12..v4.13', 'linux', '--format=email']);
    assert.deepEqual([r.command, r.range, r.paths, r.format], ['review', 'v4.12..v4.13', ['linux'], 'email']);
    const p = parseArgs(['review', '--patch', 'x.mbox', 'linux', '--json']);
    assert.deepEqual([p.patch, p.range, p.paths], ['x.mbox', undefined, ['linux']]);
    const h = parseArgs(['history', 'HEAD~5..HEAD', '--shard', '2/4']);
    assert.deepEqual([h.range, h.shard], ['HEAD~5..HEAD', { index: 2, count: 4 }]);
    const m = parseArgs(['history', '--merge', 'a.json', 'b.json']);
    assert.deepEqual([m.merge, m.paths, m.range], [true, ['a.json', 'b.json'], undefined]);
    assert.equal(parseArgs(['check', '--baseline', 'old.json', 'tree']).baseline, 'old.json');
    assert.equal(parseArgs(['--fail-on', 'incomplete']).failOn, 'incomplete');
  });

  it('says what is wrong, naming the flag', () => {
    const fails = (argv: string[], message: RegExp): void =>
      assert.throws(() => parseArgs(argv), message, argv.join(' '));
    fails(['--frobnicate'], /^Error: unknown option --frobnicate$/);
    fails(['--model'], /^Error: --model needs a value$/);
    fails(['--model', '--json'], /^Error: --model needs a value$/);
    fails(['--json=yes'], /^Error: --json takes no value$/);
    fails(['--max-states', '0'], /--max-states takes a positive whole number, not "0"/);
    fails(['--assume', 'x'], /--assume takes ID=on or ID=off, not "x"/);
    fails(['explain'], /explain needs a FUNCTION/);
    fails(['serve'], /lockpath serve --stdio/);
    fails(['--json', '--sarif'], /--json and --sarif both write to standard output/);
    fails(['review'], /review needs a revision range/);
    fails(['review', 'HEAD'], /review takes a range BASE\.\.HEAD, not "HEAD"/);
    fails(['review', 'a...b'], /takes a range BASE\.\.HEAD/);
    fails(['history', 'a..b', '--shard', '5/4'], /--shard takes i\/n with 1 <= i <= n, not "5\/4"/);
    fails(['history', '--merge'], /history --merge needs the shard outputs/);
    fails(['check', '--shard', '1/2'], /--shard is for lockpath history/);
    fails(['check', '--format=email'], /--format=email is for lockpath review/);
    fails(['review', 'a..b', '--format=html'], /--format takes text or email, not "html"/);
    fails(['--fail-on', 'always'], /--fail-on takes race, incomplete or none, not "always"/);
    fails(
      ['demo', 'linux'],
      /demo analyses the bundled example and takes no PATH; for your tree: lockpath check linux/,
    );
    fails(['check', '--patch', 'x'], /--patch is for lockpath review/);
    fails(['review', 'a..b', '--baseline', 'x'], /--baseline is for lockpath check/);
  });
});
