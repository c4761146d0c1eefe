// What a quick fix is: plain text edits, no LSP types, so the CLI, the server and tests can all apply them.
import type { Span } from '../index/facts';

export interface TextEdit {
  file: string;
  /** 0-based, as in index/facts.ts; end exclusive. A zero-width span inserts. */
  span: Span;
  newText: string;
}

export interface Fix {
  title: string;
  /** Why this fix, in a sentence or three: shown beside the title. */
  explanation: string;
  /** The fix to apply first (one per finding). */
  preferred: boolean;
  findingId: string;
  edits: TextEdit[];
}

/** A fix before it is tied to its finding and ranked. */
export type Draft = Pick<Fix, 'title' | 'explanation' | 'edits'>;
