// Cold indexing on two threads (index/parallel.ts) must give exactly what one thread gives, in the same order.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, it } from 'node:test';
import { loadParser, Workspace, type Analysis } from '../../server/src/analysis';
import { PARALLEL_MIN_CHARS } from '../../server/src/analysis/index/parallel';
import { cFiles, exampleDir } from '../helpers';

/** The example's files under several folder names: a tree big enough for the helper to start. */
function bigTree(): Record<string, string> {
  const files: Record<string, string> = {};
  let chars = 0;
  for (let copy = 0; chars < 2 * PARALLEL_MIN_CHARS; copy++) {
    for (const p of cFiles(exampleDir)) {
      const text = readFileSync(p, 'utf8');
      files[`copy${copy}/${relative(exampleDir, p)}`] = text;
      chars += text.length;
    }
  }
  return files;
}

async function analyze(files: Record<string, string>, indexThreads: number): Promise<Analysis> {
  const ws = new Workspace(await loadParser(), { indexThreads, maxStates: 2000 });
  for (const [p, t] of Object.entries(files)) ws.setFile(p, t);
  try {
    return ws.analyze();
  } finally {
    ws.dispose();
  }
}

describe('cold indexing on two threads', () => {
  it('gives the same facts, problems and findings as one thread', async () => {
    const files = bigTree();
    const one = await analyze(files, 1);
    // Twice: the first run may find the helper still starting (this thread then does most of the work).
    for (let run = 0; run < 2; run++) {
      const two = await analyze(files, 2);
      assert.equal(JSON.stringify(two.files), JSON.stringify(one.files));
      assert.deepEqual(two.problems, one.problems);
      assert.deepEqual(
        two.findings.map((f) => f.id),
        one.findings.map((f) => f.id),
      );
    }
    assert.ok(one.files.length >= 8 && one.stats.functions > 100);
  });
});
