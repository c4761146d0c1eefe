// A small, strict XML reader for the tests: enough of XML 1.0 to say whether our SVG is well-formed (one root,
// matched tags, quoted and unique attributes, only the predefined and numeric entities, no stray '<' or '&') and
// to query the tree it builds. It throws with the offset on the first error.
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: (XmlElement | string)[];
}

const NAME = /[A-Za-z_:][\w.:-]*/y;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(
      `not well-formed XML at offset ${i}: ${why} near ${JSON.stringify(text.slice(Math.max(0, i - 30), i + 30))}`,
    );
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  const spaces = (): void => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const decode = (raw: string, at: number): string =>
    raw.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) fail(`bare '&' at ${at}`);
      if (ref in ENTITIES) return ENTITIES[ref];
      const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref);
      if (!num) fail(`unknown entity &${ref};`);
      return String.fromCodePoint(num![1] ? parseInt(num![1], 16) : Number(num![2]));
    });
  const skipPast = (end: string): void => {
    const at = text.indexOf(end, i);
    if (at < 0) fail(`no closing ${end}`);
    i = at + end.length;
  };
  const skipMisc = (): void => {
    for (;;) {
      spaces();
      if (text.startsWith('<?', i)) skipPast('?>');
      else if (text.startsWith('<!--', i)) skipPast('-->');
      else return;
    }
  };
  const element = (): XmlElement => {
    if (text[i] !== '<') fail("expected '<'");
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [] };
    for (;;) {
      const before = i;
      spaces();
      if (text.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (text[i] === '>') {
        i++;
        break;
      }
      if (i === before) fail('expected whitespace before an attribute');
      const key = name();
      if (key in el.attrs) fail(`duplicate attribute ${key}`);
      spaces();
      if (text[i++] !== '=') fail(`attribute ${key} without '='`);
      spaces();
      const quote = text[i++];
      if (quote !== '"' && quote !== "'") fail(`attribute ${key} not quoted`);
      const end = text.indexOf(quote, i);
      if (end < 0) fail('unclosed attribute value');
      const raw = text.slice(i, end);
      if (raw.includes('<')) fail(`'<' in attribute ${key}`);
      el.attrs[key] = decode(raw, i);
      i = end + 1;
    }
    for (;;) {
      const lt = text.indexOf('<', i);
      if (lt < 0) fail(`unclosed <${el.name}>`);
      const raw = text.slice(i, lt);
      if (raw.includes(']]>')) fail("']]>' in text");
      if (raw) el.children.push(decode(raw, i));
      i = lt;
      if (text.startsWith('</', i)) {
        i += 2;
        const closing = name();
        if (closing !== el.name) fail(`</${closing}> closes <${el.name}>`);
        spaces();
        if (text[i++] !== '>') fail("expected '>'");
        return el;
      }
      if (text.startsWith('<!--', i)) skipPast('-->');
      else if (text.startsWith('<![CDATA[', i)) {
        const end = text.indexOf(']]>', i);
        if (end < 0) fail('unclosed CDATA');
        el.children.push(text.slice(i + 9, end));
        i = end + 3;
      } else el.children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== text.length) fail('content after the root element');
  return root;
}

/** Every element below (and including) `root`, in document order. */
export function allElements(root: XmlElement): XmlElement[] {
  return [root, ...root.children.flatMap((c) => (typeof c === 'string' ? [] : allElements(c)))];
}

export function hasClass(el: XmlElement, cls: string): boolean {
  return (el.attrs.class ?? '').split(/\s+/).includes(cls);
}

export function byClass(root: XmlElement, cls: string): XmlElement[] {
  return allElements(root).filter((e) => hasClass(e, cls));
}

/** The element's text, its descendants' included. */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}
