// The protocol's lifecycle and framing rules, over the real server's stdio with JSON-RPC framed by hand (no
// vscode-jsonrpc on this side, so nothing smooths over what the server writes): requests before `initialize`
// and after `shutdown` are refused at once with the right codes, a second `initialize` is refused, `exit` ends
// the process with 0 after `shutdown` and 1 without, and a stream that is not LSP any more ends it non-zero
// with a word on stderr (a client restarts a crashed server; a silent one it waits for forever).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { exampleDir } from '../helpers';
import { serverJs } from './harness';

interface Reply {
  id?: number | string | null;
  result?: unknown;
  error?: { code: number; message: string };
  method?: string;
}

/** The server as a process, and the messages it wrote, parsed from its framing. */
class RawServer {
  readonly proc: ChildProcess;
  readonly messages: Reply[] = [];
  stderr = '';
  private buffer = Buffer.alloc(0);
  private readonly exited: Promise<number | null>;
  private wake: (() => void)[] = [];

  constructor() {
    this.proc = spawn(process.execPath, [serverJs, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => this.read(d));
    this.proc.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.proc.stdin!.on('error', () => undefined); // writing to a server that already exited
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  /** Writes raw bytes: a header block and a body exactly as given. */
  raw(bytes: string): void {
    this.proc.stdin!.write(bytes);
  }

  send(message: object): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }), 'utf8');
    this.raw(`Content-Length: ${body.length}\r\n\r\n${body.toString('utf8')}`);
  }

  initialize(id: number): void {
    this.send({
      id,
      method: 'initialize',
      params: { processId: process.pid, rootUri: pathToFileURL(exampleDir).href, capabilities: {} },
    });
  }

  /** The reply to request `id`, failing after `ms`. */
  reply(id: number | string | null, ms = 5000): Promise<Reply> {
    return this.until(`the reply to ${id}`, () => this.messages.find((m) => m.id === id && !m.method), ms);
  }

  /** The exit code, failing after `ms`. */
  exitCode(ms = 5000): Promise<number | null> {
    return Promise.race([
      this.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`the server did not exit within ${ms} ms\nstderr: ${this.stderr}`)), ms),
      ),
    ]);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }

  private until<T>(what: string, pred: () => T | undefined, ms: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(this.messages)}\nstderr: ${this.stderr}`,
            ),
          ),
        ms,
      );
      const check = (): void => {
        const v = pred();
        if (v === undefined) return;
        clearTimeout(timer);
        this.wake = this.wake.filter((w) => w !== check);
        resolve(v);
      };
      this.wake.push(check);
      check();
    });
  }

  private read(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) break;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, end).toString('ascii'))?.[1]);
      assert.ok(Number.isInteger(length), `the server's header block: ${this.buffer.subarray(0, end).toString()}`);
      if (this.buffer.length < end + 4 + length) break;
      this.messages.push(JSON.parse(this.buffer.subarray(end + 4, end + 4 + length).toString('utf8')) as Reply);
      this.buffer = this.buffer.subarray(end + 4 + length);
    }
    for (const w of [...this.wake]) w();
  }
}

describe('LSP lifecycle and framing over raw stdio', { timeout: 120_000 }, () => {
  const servers: RawServer[] = [];
  const start = (): RawServer => {
    const s = new RawServer();
    servers.push(s);
    return s;
  };
  after(() => servers.forEach((s) => s.kill()));

  it('a request before initialize is refused at once with ServerNotInitialized; notifications are dropped', async () => {
    const s = start();
    const hover = {
      textDocument: { uri: pathToFileURL(`${exampleDir}/virt/kvm/arm/mmu.c`).href },
      position: { line: 0, character: 0 },
    };
    s.send({
      method: 'textDocument/didOpen',
      params: { textDocument: { uri: hover.textDocument.uri, languageId: 'c', version: 1, text: 'int x;' } },
    });
    const asked = Date.now();
    s.send({ id: 1, method: 'textDocument/hover', params: hover });
    s.send({ id: 'two', method: 'lockpath/no-such-method', params: {} });
    const r1 = await s.reply(1, 3000);
    assert.equal(r1.error?.code, -32002, JSON.stringify(r1));
    assert.ok(Date.now() - asked < 3000);
    assert.equal((await s.reply('two')).error?.code, -32002);
    // Still serving: initialize goes through.
    s.initialize(3);
    const init = await s.reply(3);
    assert.ok(init.result && !init.error, JSON.stringify(init));
  });

  it('a second initialize is refused, the first one stands', async () => {
    const s = start();
    s.initialize(1);
    assert.equal((await s.reply(1)).error, undefined);
    s.initialize(2);
    const again = await s.reply(2);
    assert.equal(again.error?.code, -32600, JSON.stringify(again));
    assert.match(again.error.message, /initialize/);
  });

  it('requests after shutdown get InvalidRequest, and exit then ends the process with 0', async () => {
    const s = start();
    s.initialize(1);
    await s.reply(1);
    s.send({ id: 2, method: 'shutdown' });
    const down = await s.reply(2);
    assert.equal(down.error, undefined, JSON.stringify(down));
    assert.equal(down.result, null);
    s.send({
      id: 3,
      method: 'textDocument/hover',
      params: { textDocument: { uri: 'file:///x.c' }, position: { line: 0, character: 0 } },
    });
    s.send({ id: 4, method: 'shutdown' });
    assert.equal((await s.reply(3)).error?.code, -32600);
    assert.equal((await s.reply(4)).error?.code, -32600);
    s.send({ method: 'exit' });
    assert.equal(await s.exitCode(), 0);
  });

  it('exit without shutdown ends the process with 1, before initialize too', async () => {
    const s = start();
    s.initialize(1);
    await s.reply(1);
    s.send({ method: 'exit' });
    assert.equal(await s.exitCode(), 1);
    const early = start();
    early.send({ method: 'exit' });
    assert.equal(await early.exitCode(), 1);
  });

  it('valid JSON that is no JSON-RPC message gets InvalidRequest with a null id, and the server goes on', async () => {
    const s = start();
    s.initialize(1);
    await s.reply(1);
    s.raw('Content-Length: 5\r\n\r\n[1,2]');
    const r = await s.reply(null);
    assert.equal(r.error?.code, -32600);
    s.send({ id: 2, method: 'shutdown' });
    assert.equal((await s.reply(2)).error, undefined);
  });

  const framing: [string, string][] = [
    ['a header line without a colon', 'Garbage in the header\r\n\r\n{}'],
    ['a header block without Content-Length', 'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}'],
    ['a Content-Length that is not a number', 'Content-Length: lots\r\n\r\n{}'],
    ['a negative Content-Length', 'Content-Length: -5\r\n\r\n{"jsonrpc": "2.0", "id": 9, "method": "shutdown"}'],
    ['a body that is not JSON', 'Content-Length: 10\r\n\r\n{"id": 1, '],
  ];
  for (const [what, bytes] of framing) {
    it(`${what}: said on stderr, and the process exits non-zero`, async () => {
      const s = start();
      s.initialize(1);
      await s.reply(1);
      s.raw(bytes);
      const code = await s.exitCode();
      assert.ok(code !== 0 && code !== null, `exit code ${code}`);
      assert.match(s.stderr, /lockpath: cannot read the LSP stream: .+/);
    });
  }
});
