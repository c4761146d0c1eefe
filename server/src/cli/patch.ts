// Patches as they arrive on a mailing list: an mbox or `git format-patch` output (one or many messages) or a bare
// unified diff. Parsed into file patches in series order and applied in memory, hunk by hunk, at the stated line or
// the nearest place the context matches (as patch(1) does, without fuzz). A hunk that fits nowhere is an error that
// names the file, the hunk and where it is in the patch.
export interface HunkLine {
  /** ' ' context, '-' removed, '+' added. */
  op: ' ' | '-' | '+';
  text: string;
  /** Followed by "\ No newline at end of file". */
  noNewline?: boolean;
}

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** The @@ line as written. */
  header: string;
  /** 1-based line of the @@ line in the patch file. */
  patchLine: number;
  lines: HunkLine[];
}

export interface FilePatch {
  /** Relative path before ('' for a new file) and after ('' for a deleted file), leading a/ and b/ taken off. */
  oldPath: string;
  newPath: string;
  hunks: Hunk[];
  /** The subject of the message it came in (for a series), if any. */
  subject?: string;
}

export class PatchError extends Error {}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

function stripPath(raw: string): string {
  const path = raw.replace(/\t.*$/, '').trim();
  if (path === '/dev/null') return '';
  return path.replace(/^[ab]\//, '');
}

/** Decodes the bodies of messages sent quoted-printable (some mailers do; git send-email does not). */
export function decodeQuotedPrintable(text: string): string {
  // An mbox: messages start at "From " lines; each one's headers end at its first empty line.
  return text
    .split(/^(?=From \S+ )/m)
    .map((message) => {
      const end = message.indexOf('\n\n');
      if (end < 0 || !/^Content-Transfer-Encoding:\s*quoted-printable\s*$/im.test(message.slice(0, end)))
        return message;
      const body = message
        .slice(end + 2)
        .replace(/=\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      // The escapes were bytes of UTF-8: read them back as such.
      return `${message.slice(0, end + 2)}${Buffer.from(body, 'latin1').toString('utf8')}`;
    })
    .join('');
}

/** Every file patch in the text, in order. A text without any is an error. */
export function parsePatch(text: string, name: string): FilePatch[] {
  const lines = decodeQuotedPrintable(text.replace(/\r\n/g, '\n')).split('\n');
  const out: FilePatch[] = [];
  let subject: string | undefined;
  let binary: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^Subject: /.test(line)) subject = line.slice(9).trim();
    const git = /^diff --git a\/(\S+) b\/(\S+)/.exec(line);
    if (git) binary = git[2];
    if (/^(GIT binary patch|Binary files .* differ)/.test(line))
      throw new PatchError(`${name}:${i + 1}: ${binary ?? 'a file'}: binary patches are not supported`);
    if (!(line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ') && HUNK.test(lines[i + 2] ?? ''))) continue;
    const fp: FilePatch = {
      oldPath: stripPath(line.slice(4)),
      newPath: stripPath(lines[i + 1].slice(4)),
      hunks: [],
      subject,
    };
    i += 2;
    while (i < lines.length && HUNK.test(lines[i])) {
      const m = HUNK.exec(lines[i])!;
      const hunk: Hunk = {
        oldStart: Number(m[1]),
        oldLines: m[2] === undefined ? 1 : Number(m[2]),
        newStart: Number(m[3]),
        newLines: m[4] === undefined ? 1 : Number(m[4]),
        header: lines[i],
        patchLine: i + 1,
        lines: [],
      };
      let old = 0;
      let added = 0;
      i++;
      while (old < hunk.oldLines || added < hunk.newLines) {
        if (i >= lines.length)
          throw new PatchError(
            `${name}:${hunk.patchLine}: ${fp.newPath || fp.oldPath}: hunk ${hunk.header} ends early (the patch is cut short)`,
          );
        const l = lines[i];
        // A mailer may strip the space of an empty context line.
        const op = (l === '' ? ' ' : l[0]) as HunkLine['op'] | '\\';
        if (op === '\\') {
          if (hunk.lines.length) hunk.lines[hunk.lines.length - 1].noNewline = true;
          i++;
          continue;
        }
        if (op !== ' ' && op !== '-' && op !== '+')
          throw new PatchError(
            `${name}:${i + 1}: ${fp.newPath || fp.oldPath}: hunk ${hunk.header} has a line that is not context, - or + (is the patch mangled?)`,
          );
        hunk.lines.push({ op, text: l.slice(1) });
        if (op !== '+') old++;
        if (op !== '-') added++;
        i++;
      }
      if (lines[i]?.startsWith('\\')) {
        hunk.lines[hunk.lines.length - 1].noNewline = true;
        i++;
      }
      fp.hunks.push(hunk);
    }
    i--;
    out.push(fp);
  }
  if (!out.length)
    throw new PatchError(
      `${name}: no diff found (expected git format-patch output, an mbox of patches or a unified diff)`,
    );
  return out;
}

/**
 * Applies one file patch to a text ('' and `exists: false` for a file the patch creates). Hunks go in order; each is
 * placed at its stated line moved by what earlier hunks added, else at the nearest line where its old side matches.
 */
export function applyFilePatch(
  fp: FilePatch,
  text: string | undefined,
  name: string,
  hunkBase = 0,
): string | undefined {
  const path = fp.newPath || fp.oldPath;
  if (text === undefined && fp.oldPath)
    throw new PatchError(`${name}: ${fp.oldPath}: the patch changes a file that is not in the tree`);
  if (text !== undefined && !fp.oldPath)
    throw new PatchError(`${name}: ${fp.newPath}: the patch creates a file that already exists`);
  const src = text ?? '';
  let eofNewline = src === '' || src.endsWith('\n');
  const lines = src === '' ? [] : (eofNewline ? src.slice(0, -1) : src).split('\n');
  let delta = 0;
  let searchFrom = 0;
  fp.hunks.forEach((h, n) => {
    const old = h.lines.filter((l) => l.op !== '+').map((l) => l.text);
    const expected = Math.max(0, (h.oldLines === 0 ? h.oldStart : h.oldStart - 1) + delta);
    const at = findBlock(lines, old, expected, searchFrom);
    if (at < 0) {
      throw new PatchError(
        `${name}:${h.patchLine}: ${path}: hunk #${hunkBase + n + 1} (${h.header.replace(/^(@@[^@]*@@).*/, '$1')}) does not apply: its context is not in the file near line ${h.oldStart}`,
      );
    }
    const added = h.lines.filter((l) => l.op !== '-');
    lines.splice(at, old.length, ...added.map((l) => l.text));
    if (at + added.length === lines.length) {
      const last = h.lines[h.lines.length - 1];
      const lastNew = [...h.lines].reverse().find((l) => l.op !== '-');
      if (lastNew?.noNewline) eofNewline = false;
      else if (last && (last.op === '-' ? last.noNewline : true)) eofNewline = true;
    }
    delta += added.length - old.length;
    searchFrom = at + added.length;
  });
  if (!fp.newPath) {
    if (lines.length) throw new PatchError(`${name}: ${fp.oldPath}: the patch deletes the file but lines would remain`);
    return undefined;
  }
  return lines.length ? `${lines.join('\n')}${eofNewline ? '\n' : ''}` : '';
}

/** The index nearest `expected` (not before `from`) where `block` occurs in `lines`; -1 if nowhere. */
function findBlock(lines: readonly string[], block: readonly string[], expected: number, from: number): number {
  const fits = (at: number): boolean =>
    at >= from && at + block.length <= lines.length && block.every((l, k) => lines[at + k] === l);
  for (let d = 0; d <= lines.length; d++) {
    if (fits(expected - d)) return expected - d;
    if (fits(expected + d)) return expected + d;
  }
  return -1;
}

/**
 * Applies a whole patch or series to the files read through `read` (undefined: no such file). Returns the changed
 * files' new texts (undefined: deleted), by path.
 */
export function applyPatch(
  patches: readonly FilePatch[],
  read: (path: string) => string | undefined,
  name: string,
): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const current = (p: string): string | undefined => (out.has(p) ? out.get(p) : read(p));
  const hunksSeen = new Map<string, number>();
  for (const fp of patches) {
    const path = fp.newPath || fp.oldPath;
    const before = fp.oldPath ? current(fp.oldPath) : undefined;
    const after = applyFilePatch(fp, before, name, hunksSeen.get(path) ?? 0);
    hunksSeen.set(path, (hunksSeen.get(path) ?? 0) + fp.hunks.length);
    if (fp.oldPath && fp.newPath && fp.oldPath !== fp.newPath) out.set(fp.oldPath, undefined);
    out.set(path, after);
  }
  return out;
}
