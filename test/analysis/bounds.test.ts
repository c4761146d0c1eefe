// Bounded cost per file whatever its line structure: a file with a line over MAX_LINE_LENGTH (minified, generated,
// not C) is skipped with one note at that line before it is parsed; a file within the bound is analysed as before.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { analyzeTexts, exampleDir } from '../helpers';

const mmu = readFileSync(join(exampleDir, 'virt/kvm/arm/mmu.c'), 'utf8');
/** mmu.c on one line: comments that would swallow the rest of the line dropped, repeated to 3.9 MB. */
const oneLine = (bytes: number): string => {
  const line = mmu
    .replace(/\/\/[^\n]*/g, '')
    .replace(/^#.*$/gm, '')
    .replace(/\n/g, ' ');
  return `${line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes)}\n`;
};

describe('line bound', () => {
  it('a 3.9 MB file of one line is skipped with a note at that line, in under 3 s of CPU', async () => {
    const started = process.cpuUsage();
    const text = `/* a header */\n${oneLine(3_900_000)}`;
    const a = await analyzeTexts({ 'mmu.c': mmu, 'min.c': text });
    const cpuMs = (process.cpuUsage(started).user + process.cpuUsage(started).system) / 1000;
    const notes = a.problems.filter((p) => p.file === 'min.c');
    assert.deepEqual(notes, [
      {
        file: 'min.c',
        at: { line: 1, column: 0, endLine: 1, endColumn: 0 },
        severity: 'info',
        code: 'too-long-line',
        message: 'lockpath: skipped: line 2 is 3900000 characters long (limit 65536)',
      },
    ]);
    assert.equal(a.findings.length, 3, 'mmu.c is analysed as always');
    assert.ok(cpuMs < 3000, `${Math.round(cpuMs)} ms of CPU`);
  });

  it('a line of exactly 65 536 characters is within the bound: the file is analysed', async () => {
    const text = `${mmu}/*${'x'.repeat(65_536 - 4)}*/\n`;
    assert.equal(
      text.split('\n').reduce((m, l) => Math.max(m, l.length), 0),
      65_536,
    );
    const a = await analyzeTexts({ 'mmu.c': text });
    assert.ok(!a.problems.some((p) => p.code === 'too-long-line'));
    assert.equal(a.findings.length, 3);
  });
});
