// Reads a model file (.lockpath.json): JSON with comments, checked against schemas/lockpath.schema.json, merged
// onto a built-in model. Never throws: every problem comes back with the line and column it is about, and a file
// that cannot be used leaves the built-in model in force.
import Ajv, { type ValidateFunction } from 'ajv';
import {
  createScanner,
  findNodeAtLocation,
  parseTree,
  printParseErrorCode,
  SyntaxKind,
  type Node as JsonNode,
  type ParseError,
} from 'jsonc-parser';
import schema from '../../../../schemas/lockpath.schema.json';
import { positionOf } from '../base/lines';
import type { Problem, Span } from '../index/facts';
import { builtinModels } from './builtin';
import type { Model } from './types';

export interface ModelFile {
  base?: string;
  assumptions?: Record<string, boolean>;
  resource?: Omit<Model['resource'], 'walkTypes'> & { walkTypes?: string[] };
  freeFunction?: string;
  lock?: Partial<Model['lock']> & { name: string };
  freeCalls?: string[];
  contexts?: Model['contexts'];
  hooks?: { function: string; context: string; via?: string[]; locksHeld?: string[] }[];
  entryTables?: Model['entryTables'];
  teardownPaths?: (Omit<Model['teardownPaths'][number], 'label'> & { label?: string })[];
  index?: { include?: string[]; exclude?: string[] };
  /** Configuration symbols fixed defined or not: {"CONFIG_MMU_NOTIFIER": true}. */
  config?: Record<string, boolean>;
  /** Not in the file's schema: a kernel .config the command line gave (--config), complete for CONFIG_ symbols. */
  kernelConfig?: { source: string; symbols: Record<string, boolean> };
  /** Findings people reviewed and accepted, by id, with why (suppressed in reports, see findings/suppress.ts). */
  reviewed?: { id: string; reason: string }[];
}

export interface LoadedModel {
  /** The merged model; undefined when the file is unusable (then the built-in one stays in force). */
  model?: Model;
  /** What the file said, for settings the analysis does not own (index globs). */
  file?: ModelFile;
  /** Base "auto": the caller picks the built-in model per tree and applies `overlay` to it. */
  auto: boolean;
  problems: Problem[];
}

// Compiled when the first model file is read: compiling costs ~60 ms, which a run without a model file never pays.
let compiled: ValidateFunction | undefined;
const validator = (): ValidateFunction => (compiled ??= new Ajv({ allErrors: true, strict: false }).compile(schema));

export function loadModelFile(path: string, text: string): LoadedModel {
  const overLimit = modelLimitProblem(path, text);
  if (overLimit) return { auto: true, problems: [overLimit] };
  const problems: Problem[] = [];
  const at = (offset: number, length = 1): Span => spanAt(text, offset, length);
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  for (const e of errors) {
    problems.push({
      file: path,
      at: at(e.offset, e.length),
      severity: 'error',
      message: `lockpath model file: ${describeParseError(printParseErrorCode(e.error))}`,
    });
  }
  if (errors.length || !tree) {
    if (!tree && !errors.length)
      problems.push({
        file: path,
        at: at(0),
        severity: 'error',
        message: 'lockpath model file: empty file; expected a JSON object',
      });
    return { auto: true, problems };
  }
  const value = nodeValue(tree);
  const validate = validator();
  if (!validate(value)) {
    for (const e of validate.errors ?? []) {
      const segments = e.instancePath
        .split('/')
        .slice(1)
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
      let node = findNodeAtLocation(tree, segments) ?? tree;
      if (e.keyword === 'additionalProperties') {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        const prop = node.children?.find((c) => c.children?.[0]?.value === extra);
        if (prop?.children?.[0]) node = prop.children[0];
        problems.push({
          file: path,
          at: at(node.offset, node.length),
          severity: 'error',
          message: `lockpath model file: unknown key "${extra}"${e.instancePath ? ` in ${e.instancePath}` : ''}`,
        });
        continue;
      }
      problems.push({
        file: path,
        at: at(node.offset, node.length),
        severity: 'error',
        message: `lockpath model file: ${e.instancePath || 'the file'} ${e.message ?? 'is not valid'}`,
      });
    }
    return { auto: true, problems };
  }
  const file = value as ModelFile;
  const baseId = file.base ?? 'auto';
  const auto = baseId === 'auto';
  const base = auto ? builtinModels[0] : builtinModels.find((m) => m.id === baseId)!;
  const model = applyModelFile(base, file, path, (segments, message) => {
    const node = findNodeAtLocation(tree, segments) ?? tree;
    problems.push({
      file: path,
      at: at(node.offset, node.length),
      severity: 'warning',
      message: `lockpath model file: ${message}`,
    });
  });
  return { model, file, auto, problems };
}

/** Merges the file onto a built-in model; `report` names the path of anything it could not honour. */
export function applyModelFile(
  base: Model,
  file: ModelFile,
  source: string,
  report: (path: (string | number)[], message: string) => void = () => {},
): Model {
  const m: Model = structuredClone(base);
  m.source = source;
  if (file.resource) m.resource = { ...file.resource, walkTypes: file.resource.walkTypes ?? [] };
  if (file.freeFunction) m.freeFunction = file.freeFunction;
  if (file.lock) m.lock = { ...m.lock, display: file.lock.name, ...file.lock };
  if (file.freeCalls) m.freeCalls = [...new Set([...m.freeCalls, ...file.freeCalls])];
  if (file.contexts) for (const c of file.contexts) if (!m.contexts.some((x) => x.id === c.id)) m.contexts.push(c);
  const contextIds = new Set(m.contexts.map((c) => c.id));
  file.hooks?.forEach((h, i) => {
    if (!contextIds.has(h.context))
      report(['hooks', i, 'context'], `unknown context "${h.context}" (known: ${[...contextIds].join(', ')})`);
    m.hooks = m.hooks.filter((x) => x.function !== h.function);
    m.hooks.push({
      function: h.function,
      context: h.context,
      via: h.via ?? [h.context],
      locksHeld: h.locksHeld ?? [],
      origin: source,
    });
  });
  file.entryTables?.forEach((t, i) => {
    for (const [field, ctx] of Object.entries(t.fields))
      if (!contextIds.has(ctx)) report(['entryTables', i, 'fields', field], `unknown context "${ctx}"`);
    m.entryTables.push(t);
  });
  file.teardownPaths?.forEach((p) => {
    m.teardownPaths = m.teardownPaths.filter((x) => x.id !== p.id);
    m.teardownPaths.push({ label: p.id, ...p });
  });
  if (file.config) m.config = { ...m.config, ...file.config };
  if (file.kernelConfig) {
    m.config = { ...m.config, ...file.kernelConfig.symbols };
    m.kernelConfig = file.kernelConfig.source;
  }
  for (const [id, enabled] of Object.entries(file.assumptions ?? {})) {
    const a = m.assumptions.find((x) => x.id === id);
    if (!a) {
      report(['assumptions', id], `unknown assumption "${id}" (known: ${m.assumptions.map((x) => x.id).join(', ')})`);
      continue;
    }
    a.enabled = enabled;
  }
  return m;
}

/**
 * What a model file may be. The parser, the value builder and the schema check recurse once per level of nesting
 * and the merge costs the square of the hooks: past these a file is refused before it is parsed. A real model file
 * is a few hundred bytes, four levels deep, with a handful of entries per list.
 */
export const MODEL_LIMITS = { characters: 1 << 20, depth: 32, entries: 1000 } as const;

/** The problem code of a model file over one of MODEL_LIMITS. */
export const MODEL_LIMIT = 'model-limit';

/** The first limit the file is over, as an error at the place it is crossed; one scan, no recursion. */
function modelLimitProblem(path: string, text: string): Problem | undefined {
  const problem = (offset: number, message: string): Problem => ({
    file: path,
    at: spanAt(text, offset, 1),
    severity: 'error',
    code: MODEL_LIMIT,
    message: `lockpath model file: ${message}`,
  });
  if (text.length > MODEL_LIMITS.characters)
    return problem(
      MODEL_LIMITS.characters,
      `${text.length} characters is over the limit of ${MODEL_LIMITS.characters}`,
    );
  const scanner = createScanner(text, true);
  /** The open objects and arrays: what names them, and how many commas they have had. */
  const open: { name: string; commas: number }[] = [];
  let lastString = '';
  let prev = SyntaxKind.EOF;
  /** A list just had one comma too many: the entry it starts, if one follows, is over the limit. */
  let crowded: string | undefined;
  for (let kind = scanner.scan(); kind !== SyntaxKind.EOF; kind = scanner.scan()) {
    if (kind === SyntaxKind.LineCommentTrivia || kind === SyntaxKind.BlockCommentTrivia) continue;
    const offset = scanner.getTokenOffset();
    if (crowded !== undefined && kind !== SyntaxKind.CloseBracketToken && kind !== SyntaxKind.CloseBraceToken) {
      return problem(
        offset,
        `${crowded} has more than ${MODEL_LIMITS.entries} entries (limit ${MODEL_LIMITS.entries})`,
      );
    }
    crowded = undefined;
    switch (kind) {
      case SyntaxKind.OpenBraceToken:
      case SyntaxKind.OpenBracketToken: {
        const parent = open[open.length - 1];
        const name =
          prev === SyntaxKind.ColonToken ? `"${lastString}"` : parent ? `an entry of ${parent.name}` : 'the file';
        open.push({ name, commas: 0 });
        if (open.length > MODEL_LIMITS.depth)
          return problem(offset, `nested more than ${MODEL_LIMITS.depth} levels deep (limit ${MODEL_LIMITS.depth})`);
        break;
      }
      case SyntaxKind.CloseBraceToken:
      case SyntaxKind.CloseBracketToken:
        open.pop();
        break;
      case SyntaxKind.CommaToken: {
        const top = open[open.length - 1];
        if (top && ++top.commas >= MODEL_LIMITS.entries) crowded = top.name;
        break;
      }
      case SyntaxKind.StringLiteral:
        lastString = scanner.getTokenValue();
        break;
    }
    prev = kind;
  }
  return undefined;
}

function nodeValue(n: JsonNode): unknown {
  switch (n.type) {
    case 'object':
      return Object.fromEntries(
        (n.children ?? []).map((p) => [
          p.children![0].value as string,
          p.children![1] ? nodeValue(p.children![1]) : undefined,
        ]),
      );
    case 'array':
      return (n.children ?? []).map(nodeValue);
    default:
      return n.value;
  }
}

function describeParseError(code: string): string {
  const words: Record<string, string> = {
    InvalidSymbol: 'unexpected character',
    InvalidNumberFormat: 'malformed number',
    PropertyNameExpected: 'expected a property name in double quotes',
    ValueExpected: 'expected a value',
    ColonExpected: 'expected ":"',
    CommaExpected: 'expected ","',
    CloseBraceExpected: 'expected "}"',
    CloseBracketExpected: 'expected "]"',
    EndOfFileExpected: 'expected the end of the file',
    UnexpectedEndOfString: 'unterminated string',
    UnexpectedEndOfComment: 'unterminated comment',
    InvalidEscapeCharacter: 'invalid escape in string',
    InvalidCharacter: 'invalid character in string',
  };
  return words[code] ?? code;
}

function spanAt(text: string, offset: number, length: number): Span {
  const start = positionOf(text, offset);
  const end = positionOf(text, offset + Math.max(length, 0));
  return { line: start.line, column: start.column, endLine: end.line, endColumn: end.column };
}
