// Which text is which, by content: keys of the facts cache and the editor's check that an analysis saw the very
// text it has. A cryptographic hash, so two different texts never pass for one (a 32-bit hash collides once in
// about 65 000 pairs: over a kernel tree and its history, that is a wrong file's facts read back).
import { createHash } from 'node:crypto';

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
