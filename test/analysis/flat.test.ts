// The flat copy of a tree (parse/flat.ts) must answer exactly as web-tree-sitter's own nodes do: the indexer reads
// it in their place. Checked node by node on every C file of the examples and fixtures, and on broken inputs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import type { Node, Tree } from 'web-tree-sitter';
import { loadParser, type CParser } from '../../server/src/analysis';
import { flatten, sourceText, type SyntaxNode } from '../../server/src/analysis/parse/flat';
import { cursorPort, publicPort } from '../../server/src/analysis/parse/cursor';
import {
  acceptWasmBuildForTest,
  memoryReaderUsable,
  readTree,
  WRITTEN_FOR,
} from '../../server/src/analysis/parse/memory';
import { join } from 'node:path';
import { cFiles, exampleDir, fixturesDir, repoRoot } from '../helpers';

let parser: CParser;
before(async () => {
  parser = await loadParser();
});

const BROKEN = [
  '\n\n  static int f(struct kvm *kvm) __acquires(x)\n{\n\tspin_lock(&kvm->mmu_lock);\n',
  'int a(void) { return b( ; }\nint c(void) { if (x { y(); } }\n',
  'struct s t = { .a = f, [3] = &g, };\nint h(void) { for (;;) ; return 0 }\n',
  '',
  '\t\n',
];

const describeNode = (n: Node | SyntaxNode | null): string => (n ? `${n.type}@${n.startIndex}-${n.endIndex}` : 'null');

/** Every property the indexer reads, on `real` and `flat` and all their descendants. Returns the nodes compared. */
function compare(real: Node, flat: SyntaxNode, fields: string[]): number {
  const at = describeNode(real);
  assert.equal(flat.type, real.type, at);
  assert.equal(flat.startIndex, real.startIndex, at);
  assert.equal(flat.endIndex, real.endIndex, at);
  assert.deepEqual(flat.startPosition, real.startPosition, at);
  assert.deepEqual(flat.endPosition, real.endPosition, at);
  assert.equal(flat.text, real.text, at);
  assert.equal(flat.isNamed, real.isNamed, at);
  assert.equal(flat.isMissing, real.isMissing, at);
  assert.equal(flat.hasError, real.hasError, at);
  assert.equal(flat.namedChildCount, real.namedChildCount, at);
  assert.deepEqual(flat.namedChildren.map(describeNode), real.namedChildren.map(describeNode), at);
  for (const f of fields) {
    assert.equal(describeNode(flat.childForFieldName(f)), describeNode(real.childForFieldName(f)), `${at} field ${f}`);
    assert.deepEqual(
      flat.childrenForFieldName(f).map(describeNode),
      real.childrenForFieldName(f).map(describeNode),
      `${at} fields ${f}`,
    );
  }
  const kids = real.children;
  assert.equal(flat.children.length, kids.length, at);
  let n = 1;
  kids.forEach((k, i) => {
    assert.ok(k);
    assert.equal(describeNode(flat.child(i)), describeNode(real.child(i)), at);
    n += compare(k, flat.children[i], fields);
  });
  return n;
}

function withTree<T>(text: string, use: (tree: Tree) => T): T {
  const tree = parser.parse(text);
  try {
    return use(tree);
  } finally {
    tree.delete();
  }
}

describe('flat syntax tree', () => {
  const inputs = (): [string, string][] => [
    ...[...cFiles(exampleDir), ...cFiles(fixturesDir)].map((p): [string, string] => [p, readFileSync(p, 'utf8')]),
    ...BROKEN.map((t, i): [string, string] => [`broken #${i}`, t]),
  ];

  it('answers as web-tree-sitter nodes do, node by node, on the examples, fixtures and broken inputs', () => {
    const fields = parser.language.fields.filter((f): f is string => !!f);
    let nodes = 0;
    let withErrors = 0;
    for (const [name, text] of inputs()) {
      withTree(text, (tree) => {
        const flat = flatten(tree, text);
        assert.equal(flat.count, tree.rootNode.descendantCount, name);
        if (tree.rootNode.hasError) withErrors++;
        nodes += compare(tree.rootNode, flat.rootNode, fields);
      });
    }
    assert.ok(nodes > 10_000, `only ${nodes} nodes compared`);
    assert.ok(withErrors >= 3, 'the inputs should include trees with errors');
  });

  it("is the same through web-tree-sitter's TreeCursor as through the direct cursor", () => {
    for (const [name, text] of inputs()) {
      withTree(text, (tree) => {
        const direct = flatten(tree, text, cursorPort);
        const viaPublic = flatten(tree, text, publicPort);
        for (const key of ['typeIds', 'fieldIds', 'starts', 'ends', 'after', 'flags'] as const)
          assert.deepEqual(viaPublic[key], direct[key], `${name}: ${key}`);
      });
    }
  });

  it('reads the same from wasm memory as through the cursor', () => {
    for (const [name, text] of inputs()) {
      withTree(text, (tree) => {
        assert.ok(readTree(tree), `${name}: wasm memory out of reach`);
        const fromMemory = flatten(tree, text);
        const viaCursor = flatten(tree, text, cursorPort);
        for (const key of ['typeIds', 'fieldIds', 'starts', 'ends', 'after', 'flags'] as const)
          assert.deepEqual(fromMemory[key], viaCursor[key], `${name}: ${key}`);
      });
    }
  });

  it('reads wasm memory only with the web-tree-sitter build it was written for, which is the one installed', () => {
    const installed = JSON.parse(
      readFileSync(join(repoRoot, 'node_modules', 'web-tree-sitter', 'package.json'), 'utf8'),
    ).version;
    assert.equal(
      installed,
      WRITTEN_FOR.webTreeSitter,
      'web-tree-sitter was upgraded: follow "Upgrading web-tree-sitter" in ARCHITECTURE.md',
    );
    assert.ok(memoryReaderUsable());
  });

  it('falls back to the cursor walk, with the same arrays, on any other build', () => {
    const [name, text] = inputs().find(([n]) => n.endsWith('mmu.c'))!;
    withTree(text, (tree) => {
      const fromMemory = flatten(tree, text);
      acceptWasmBuildForTest('0'.repeat(64));
      try {
        assert.equal(memoryReaderUsable(), false);
        assert.equal(readTree(tree), undefined);
        const fallback = flatten(tree, text);
        for (const key of ['typeIds', 'fieldIds', 'starts', 'ends', 'after', 'flags'] as const)
          assert.deepEqual(fallback[key], fromMemory[key], `${name}: ${key}`);
      } finally {
        acceptWasmBuildForTest();
      }
      assert.ok(readTree(tree));
    });
  });

  it('reads the source back from a tree whose text starts with blank lines', () => {
    const text = '\n\n   \n  int x;\n';
    withTree(text, (tree) => {
      const flat = flatten(tree, sourceText(tree));
      const decl = flat.rootNode.namedChild(0)!;
      assert.deepEqual(decl.startPosition, { row: 3, column: 2 });
      assert.equal(decl.text, 'int x;');
    });
  });
});
