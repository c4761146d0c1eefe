// Picks the built-in model that fits a tree: the one whose telltale strings the files mention most.
import { builtinModels } from './builtin';
import type { Model } from './types';

export function chooseModel(files: ReadonlyMap<string, { text: string }>): { model: Model; reason: string } {
  let best = builtinModels[0];
  let bestScore = 0;
  for (const m of builtinModels) {
    let score = 0;
    for (const f of files.values()) for (const s of m.detect) score += count(f.text, s);
    if (score > bestScore) {
      best = m;
      bestScore = score;
    }
  }
  return {
    model: best,
    reason: bestScore
      ? `chosen: the tree mentions ${best.detect.join(', ')} (${bestScore} times)`
      : 'default: the tree names no stage-2 root the models know',
  };
}

function count(text: string, s: string): number {
  let n = 0;
  for (let i = text.indexOf(s); i >= 0; i = text.indexOf(s, i + s.length)) n++;
  return n;
}
