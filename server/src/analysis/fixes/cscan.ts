// Just enough C lexing to place an edit: skip comments and blanks, match brackets, find where a simple statement
// ends, and tell a local declaration from a statement. The facts give spans of what the analysis cares about;
// where a guard may go (after the declarations, inside a loop's braces) needs the text between them.

/** Skips blanks, newlines and comments from `i`; returns the offset of the next token (or text.length). */
export function skipTrivia(text: string, i: number): number {
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return text.length;
      i = end + 2;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      if (end < 0) return text.length;
      i = end + 1;
    } else {
      return i;
    }
  }
}

/** Skips blanks and comments that end on the current line; stops at the line break (a trailing comment). */
export function skipTrailing(text: string, i: number): number {
  for (;;) {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
    if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0 || text.slice(i, end).includes('\n')) return i;
      i = end + 2;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      return end < 0 ? text.length : end;
    } else {
      return i;
    }
  }
}

/** Past a string or character literal starting at `i` (text[i] is the quote). */
function skipLiteral(text: string, i: number): number {
  const quote = text[i];
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === quote || text[j] === '\n') return j + 1;
  }
  return text.length;
}

const CLOSE: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/** The offset of the bracket closing the one at `open`, skipping comments and literals; -1 if unbalanced. */
export function matchingClose(text: string, open: number): number {
  const stack: string[] = [];
  for (let i = open; i < text.length;) {
    const c = text[i];
    if (c === '/' && (text[i + 1] === '*' || text[i + 1] === '/')) {
      i = skipTrivia(text, i);
      continue;
    }
    if (c === '"' || c === "'") {
      i = skipLiteral(text, i);
      continue;
    }
    if (CLOSE[c]) stack.push(CLOSE[c]);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) return -1;
      if (!stack.length) return i;
    }
    i++;
  }
  return -1;
}

/** Past the `;` ending the simple statement at `i` (brackets skipped whole); -1 if a block ends first. */
export function statementEnd(text: string, i: number, limit: number): number {
  while (i < limit) {
    const c = text[i];
    if (c === '/' && (text[i + 1] === '*' || text[i + 1] === '/')) {
      i = skipTrivia(text, i);
      continue;
    }
    if (c === '"' || c === "'") {
      i = skipLiteral(text, i);
      continue;
    }
    if (c === ';') return i + 1;
    if (c === '}' || c === ')' || c === ']') return -1;
    if (CLOSE[c]) {
      const close = matchingClose(text, i);
      if (close < 0 || close >= limit) return -1;
      i = close + 1;
      continue;
    }
    i++;
  }
  return -1;
}

const KEYWORDS = new Set([
  'return',
  'goto',
  'if',
  'else',
  'while',
  'for',
  'do',
  'switch',
  'case',
  'default',
  'break',
  'continue',
  'sizeof',
  'typeof',
  'asm',
  '__asm__',
]);
const QUALIFIERS =
  '(?:(?:const|volatile|static|register|unsigned|signed|struct|union|enum|long|short|__maybe_unused|__always_unused)\\s+)*';
// type name [=,;[]  |  type *name ...  |  type (*name)(...): a type word, then the declared name.
const DECLARATION = new RegExp(
  `^${QUALIFIERS}([A-Za-z_]\\w*)(?:\\s*\\*[\\s*]*|\\s+)(?:const\\s+)?(?:\\(\\s*\\*\\s*)?([A-Za-z_]\\w*)\\s*[=,;\\[)]`,
);

/**
 * Does a local declaration start at `i`? Kernel style puts them first in a block (pgd_t *pgd;, struct kvm *kvm =
 * vcpu->kvm;, unsigned long end = hva + PAGE_SIZE;). `a * b;` would fool it; kernel bodies do not say that.
 */
export function isDeclarationAt(text: string, i: number): boolean {
  const m = DECLARATION.exec(text.slice(i, i + 400));
  return !!m && !KEYWORDS.has(m[1]) && !KEYWORDS.has(m[2]);
}
