// The one model resolution the CLI and the server share: a model file and assumption overrides in, a fixed model
// or an overlay out, with the file's problems; never a throw, whatever the file holds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { resolveModel } from '../../server/src/files/model-config';

const enabled = (m: { assumptions: { id: string; enabled: boolean }[] } | undefined, id: string): boolean | undefined =>
  m?.assumptions.find((a) => a.id === id)?.enabled;

describe('resolveModel', () => {
  it('overrides alone make an overlay named by their source; unknown ids are left out and named', () => {
    const r = resolveModel({
      assumptions: { 'vcpu-thread-pins-mm': false, 'no-such': true },
      assumptionsSource: 'command line',
    });
    assert.equal(r.model, undefined);
    assert.deepEqual(r.overlay, { file: { assumptions: { 'vcpu-thread-pins-mm': false } }, source: 'command line' });
    assert.deepEqual(r.unknownAssumptions, ['no-such']);
    assert.ok(r.knownAssumptions.includes('vcpu-thread-pins-mm'));
    assert.deepEqual(r.problems, []);
  });

  it('a file with an explicit base is a fixed model, with the overrides applied on top of the file', () => {
    const text = '{ "base": "kvm-arm-v4", "assumptions": { "vm-ioctl-pins-mm": false } }';
    const r = resolveModel({
      file: { name: '.lockpath.json', text },
      assumptions: { 'vcpu-thread-pins-mm': false },
      assumptionsSource: 'settings',
    });
    assert.equal(r.overlay, undefined);
    assert.equal(r.model?.id, 'kvm-arm-v4');
    assert.equal(enabled(r.model, 'vm-ioctl-pins-mm'), false);
    assert.equal(enabled(r.model, 'vcpu-thread-pins-mm'), false);
    assert.equal(enabled(r.model, 'vcpu-fd-pins-kvm'), true);
  });

  it('a file with base auto is an overlay named by its source, the overrides merged into it; its globs come back', () => {
    const text = '{ "assumptions": { "vm-ioctl-pins-mm": false }, "index": { "include": ["extra/**"] } }';
    const r = resolveModel({
      file: { name: '.lockpath.json', source: '/abs/.lockpath.json', text },
      assumptions: { 'vcpu-thread-pins-mm': false },
      assumptionsSource: 'settings',
    });
    assert.equal(r.model, undefined);
    assert.equal(r.overlay?.source, '/abs/.lockpath.json');
    assert.deepEqual(r.overlay?.file.assumptions, { 'vm-ioctl-pins-mm': false, 'vcpu-thread-pins-mm': false });
    assert.deepEqual(r.index, { include: ['extra/**'], exclude: [] });
  });

  it('a file with errors is not used: its problems come back, with positions, and only the overrides apply', () => {
    const r = resolveModel({
      file: { name: 'm.json', text: '{\n  "bogus": 1,\n  "index": { "include": ["x/**"] }\n}' },
      assumptions: {},
      assumptionsSource: 'settings',
    });
    assert.equal(r.model, undefined);
    assert.equal(r.overlay, undefined);
    assert.deepEqual(r.index, { include: [], exclude: [] });
    const e = r.problems.find((p) => /unknown key "bogus"/.test(p.message));
    assert.equal(e?.file, 'm.json');
    assert.deepEqual([e?.at.line, e?.at.column], [1, 2]);
  });

  it('a file nested 100 000 deep is an error at its start, not a throw', () => {
    const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const r = resolveModel({
      file: { name: 'deep.json', text },
      assumptions: { 'vcpu-thread-pins-mm': false },
      assumptionsSource: 'settings',
    });
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0].severity, 'error');
    // The loader's bounds refuse it where it crosses the nesting limit (model/loader.ts), before any parse.
    assert.deepEqual([r.problems[0].at.line, r.problems[0].at.column], [0, 32]);
    assert.match(r.problems[0].message, /nested more than 32 levels deep/);
    assert.equal(r.model, undefined);
    assert.equal(r.overlay?.source, 'settings', 'the overrides still apply, on the built-in model');
  });

  it('reads the file from disk when no text is given, and says why it could not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lockpath-model-config-'));
    try {
      const path = join(dir, '.lockpath.json');
      writeFileSync(path, '{ "base": "kvm-arm64-pgt" }');
      assert.equal(
        resolveModel({ file: { name: '.lockpath.json', fsPath: path }, assumptionsSource: 'x' }).model?.id,
        'kvm-arm64-pgt',
      );
      const missing = resolveModel({
        file: { name: 'none.json', fsPath: join(dir, 'none.json') },
        assumptionsSource: 'x',
      });
      assert.match(missing.unreadable ?? '', /ENOENT/);
      assert.deepEqual(missing.problems, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
