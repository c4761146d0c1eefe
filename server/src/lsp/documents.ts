// The documents the editor has open: their texts and versions, the analysis key of each (its path under a
// workspace folder), and a cached hash of each text (what the scheduler compares with the hashes an analysis saw).
import { TextDocument } from 'vscode-languageserver-textdocument';
import { textHash } from './engine';
import type { Snapshot } from './snapshot';

export interface OpenDoc {
  doc: TextDocument;
  key: string;
  /** The model file (.lockpath.json) rather than C. */
  model: boolean;
  hash?: { version: number; value: string };
}

export class Documents {
  private readonly byUri = new Map<string, OpenDoc>();
  /** Keys of the open C documents (the model file has none the analysis knows). */
  private readonly keyToUri = new Map<string, string>();

  get(uri: string): OpenDoc | undefined {
    return this.byUri.get(uri);
  }

  has(uri: string): boolean {
    return this.byUri.has(uri);
  }

  entries(): IterableIterator<[string, OpenDoc]> {
    return this.byUri.entries();
  }

  /** The open C document with this key. */
  byKey(key: string): OpenDoc | undefined {
    return this.byUri.get(this.keyToUri.get(key) ?? '');
  }

  /** The URI the editor uses for the C document with this key, when it is open. */
  uriOfKey(key: string): string | undefined {
    return this.keyToUri.get(key);
  }

  hasKey(key: string): boolean {
    return this.keyToUri.has(key);
  }

  open(uri: string, languageId: string, version: number, text: string, key: string, model: boolean): OpenDoc {
    const d: OpenDoc = { doc: TextDocument.create(uri, languageId, version, text), key, model };
    this.byUri.set(uri, d);
    if (!model) this.keyToUri.set(key, uri);
    return d;
  }

  close(uri: string): OpenDoc | undefined {
    const d = this.byUri.get(uri);
    if (!d) return undefined;
    this.byUri.delete(uri);
    if (!d.model) this.keyToUri.delete(d.key);
    return d;
  }

  /** The folders changed: keys follow them. */
  rekey(keyOfUri: (uri: string) => string): void {
    this.keyToUri.clear();
    for (const [uri, d] of this.byUri) {
      d.key = keyOfUri(uri);
      if (!d.model) this.keyToUri.set(d.key, uri);
    }
  }

  hashOf(d: OpenDoc): string {
    if (!d.hash || d.hash.version !== d.doc.version)
      d.hash = { version: d.doc.version, value: textHash(d.doc.getText()) };
    return d.hash.value;
  }

  /** Key and text hash of every open C document. */
  *texts(): IterableIterator<readonly [string, string]> {
    for (const d of this.byUri.values()) if (!d.model) yield [d.key, this.hashOf(d)];
  }

  /** Every open document's key and version, as one string. */
  versions(): string {
    return [...this.byUri.values()].map((d) => `${d.key}@${d.doc.version}`).join();
  }

  /** This file's text is the one the snapshot analysed: its positions hold. */
  fresh(s: Snapshot, d: OpenDoc): boolean {
    return s.hashes[d.key] === this.hashOf(d);
  }
}
