// The patch reader and in-memory applier on their own: offsets, several hunks, a series touching one file twice,
// new and deleted files, "\ No newline at end of file", and the errors that name the file and the hunk.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPatch, parsePatch, PatchError } from '../../server/src/cli/patch';

const file = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
const read =
  (files: Record<string, string>) =>
  (p: string): string | undefined =>
    files[p];

describe('patch', () => {
  it('applies hunks at their lines, or moved when lines were added above (an offset)', () => {
    const patch = [
      'diff --git a/f.c b/f.c',
      '--- a/f.c',
      '+++ b/f.c',
      '@@ -2,3 +2,3 @@',
      ' line 2',
      '-line 3',
      '+LINE 3',
      ' line 4',
      '@@ -20,3 +20,4 @@ int f(void)',
      ' line 20',
      ' line 21',
      '+inserted',
      ' line 22',
      '',
    ].join('\n');
    const shifted = `extra a\nextra b\n${file}`;
    const out = applyPatch(parsePatch(patch, 'p'), read({ 'f.c': shifted }), 'p').get('f.c')!;
    assert.match(out, /^extra a\nextra b\nline 1\nline 2\nLINE 3\nline 4\n/);
    assert.match(out, /line 21\ninserted\nline 22\n/);
    assert.equal(out.split('\n').length, shifted.split('\n').length + 1);
  });

  it('a series (mbox) changes one file twice in order; new and deleted files; no newline at end of file', () => {
    const mbox = [
      'From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001',
      'Subject: [PATCH 1/2] one',
      '',
      '---',
      'diff --git a/f.c b/f.c',
      '--- a/f.c',
      '+++ b/f.c',
      '@@ -1,2 +1,2 @@',
      '-line 1',
      '+first',
      ' line 2',
      'diff --git a/new.c b/new.c',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/new.c',
      '@@ -0,0 +1,2 @@',
      '+int x;',
      '+int y;',
      '\\ No newline at end of file',
      '-- ',
      '2.39.5',
      '',
      'From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001',
      'Subject: [PATCH 2/2] two',
      '',
      '---',
      'diff --git a/f.c b/f.c',
      '--- a/f.c',
      '+++ b/f.c',
      '@@ -1,2 +1,2 @@',
      '-first',
      '+second',
      ' line 2',
      'diff --git a/gone.c b/gone.c',
      'deleted file mode 100644',
      '--- a/gone.c',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-int gone;',
      '-- ',
      '2.39.5',
      '',
    ].join('\n');
    const patches = parsePatch(mbox, 's.mbox');
    assert.deepEqual(
      patches.map((p) => [p.oldPath, p.newPath, p.subject]),
      [
        ['f.c', 'f.c', '[PATCH 1/2] one'],
        ['', 'new.c', '[PATCH 1/2] one'],
        ['f.c', 'f.c', '[PATCH 2/2] two'],
        ['gone.c', '', '[PATCH 2/2] two'],
      ],
    );
    const out = applyPatch(patches, read({ 'f.c': file, 'gone.c': 'int gone;\n' }), 's.mbox');
    assert.match(out.get('f.c')!, /^second\nline 2\n/);
    assert.equal(out.get('new.c'), 'int x;\nint y;');
    assert.ok(out.has('gone.c') && out.get('gone.c') === undefined);
  });

  it('reads a message sent quoted-printable', () => {
    const mail = [
      'From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001',
      'Subject: [PATCH] qp',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '--- a/f.c',
      '+++ b/f.c',
      '@@ -1,2 +1,2 @@',
      '-line 1',
      '+int x =3D 1; /* caf=C3=A9, a long line that the mailer wrapped with a soft=',
      ' break */',
      ' line 2',
      '',
    ].join('\n');
    const out = applyPatch(parsePatch(mail, 'qp.eml'), read({ 'f.c': file }), 'qp.eml').get('f.c')!;
    assert.match(out, /^int x = 1; \/\* café, a long line that the mailer wrapped with a soft break \*\/\nline 2\n/);
  });

  it('a hunk whose context is not in the file is an error naming the patch line, file and hunk', () => {
    const patch = ['--- a/f.c', '+++ b/f.c', '@@ -5,2 +5,2 @@', ' line 5', '-line six', '+line 6', ''].join('\n');
    assert.throws(
      () => applyPatch(parsePatch(patch, 'bad.patch'), read({ 'f.c': file }), 'bad.patch'),
      (e: Error) =>
        e instanceof PatchError && /^bad\.patch:3: f\.c: hunk #1 \(@@ -5,2 \+5,2 @@\) does not apply/.test(e.message),
    );
    assert.throws(
      () => applyPatch(parsePatch(patch, 'bad.patch'), read({}), 'bad.patch'),
      /f\.c: the patch changes a file that is not in the tree/,
    );
    assert.throws(
      () => parsePatch(['--- a/f.c', '+++ b/f.c', '@@ -1,3 +1,3 @@', ' line 1', ''].join('\n'), 'cut.patch'),
      /hunk @@ -1,3 \+1,3 @@ (ends early|has a line)/,
    );
    assert.throws(() => parsePatch('just words\n', 'none.patch'), /none\.patch: no diff found/);
  });
});
