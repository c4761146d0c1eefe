// Position markers in test inputs: `/*^name*/` marks the position of what follows it. The markers are removed
// before parsing, so the text the indexer sees is the C as written and each position is a real one in it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from '../helpers';

export interface Position {
  /** Zero-based, in the text without markers. */
  line: number;
  column: number;
}

export interface Marked {
  text: string;
  /** Each marker's position, by name; an unknown name throws, so a typo in a test fails loudly. */
  at(name: string): Position;
}

const MARKER = /\/\*\^([\w-]+)\*\//g;

export function stripMarkers(source: string): Marked {
  const marks = new Map<string, Position>();
  let text = '';
  let last = 0;
  for (const m of source.matchAll(MARKER)) {
    text += source.slice(last, m.index);
    last = m.index + m[0].length;
    if (marks.has(m[1])) throw new Error(`marker ${m[1]} appears twice`);
    const lineStart = text.lastIndexOf('\n') + 1;
    marks.set(m[1], { line: text.split('\n').length - 1, column: text.length - lineStart });
  }
  text += source.slice(last);
  return {
    text,
    at: (name) => {
      const p = marks.get(name);
      if (!p) throw new Error(`no marker ${name}; have ${[...marks.keys()].join(', ') || 'none'}`);
      return p;
    },
  };
}

/** test/fixtures/indexer/NAME, markers removed. */
export function indexerFixture(name: string): Marked {
  return stripMarkers(readFileSync(join(fixturesDir, 'indexer', name), 'utf8'));
}
