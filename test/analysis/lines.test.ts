// The one line index (analysis/base/lines.ts): the table and the one-scan helpers agree, on LF, CRLF and edges.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clampedOffset, LineIndex, lineStartOf, lineStarts, positionOf } from '../../server/src/analysis/base/lines';

describe('line index', () => {
  const text = 'int a;\r\nvoid f(void)\n{\n\n}';

  it('starts a line after every \\n and keeps \\r on its line', () => {
    assert.deepEqual([...lineStarts(text)], [0, 8, 21, 23, 24]);
    assert.deepEqual([...lineStarts('')], [0]);
    assert.deepEqual([...lineStarts('x\n')], [0, 2]);
    assert.equal(lineStarts('\n'.repeat(100)).length, 101, 'grows past its first guess');
  });

  it('gives the same positions from the table and from one scan, at every offset', () => {
    const index = new LineIndex(text);
    for (let offset = 0; offset <= text.length; offset++)
      assert.deepEqual(index.position(offset), positionOf(text, offset), `offset ${offset}`);
    assert.deepEqual(positionOf(text, 7), { line: 0, column: 7 }, 'the \\r of a CRLF is the end of its line');
    assert.deepEqual(positionOf(text, 8), { line: 1, column: 0 });
  });

  it('clamps offsets to the end of the line and of the text', () => {
    assert.equal(clampedOffset(text, 1, 2), 10);
    assert.equal(clampedOffset(text, 1, 99), 20, 'past the end of the line: at its \\n');
    assert.equal(clampedOffset(text, 9, 0), text.length, 'past the last line: the end of the text');
    assert.equal(lineStartOf(text, 2), 21);
    assert.equal(lineStartOf(text, 5), undefined);
    for (let offset = 0; offset <= text.length; offset++) {
      const p = positionOf(text, offset);
      assert.equal(clampedOffset(text, p.line, p.column), offset, `round trip at ${offset}`);
    }
  });
});
