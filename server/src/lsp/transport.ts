// The connection the server runs on, with the protocol's lifecycle rules enforced before any handler sees a
// message (vscode-languageserver leaves them to the server): a request before `initialize` is answered
// ServerNotInitialized at once, a second `initialize` and any request after `shutdown` InvalidRequest;
// notifications before `initialize` or after `shutdown` are dropped, except `exit`. A stream that cannot be
// read as LSP any more (garbage headers, a bad Content-Length, a body that is not JSON) is reported on stderr and
// the process exits non-zero, so that the client sees a crash and restarts it rather than a server gone silent.
import { writeSync } from 'node:fs';
import { format } from 'node:util';
import { createConnection, ProposedFeatures, type Connection } from 'vscode-languageserver/node';
import {
  ErrorCodes,
  Message,
  IPCMessageReader,
  IPCMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
  type DataCallback,
  type Disposable,
  type MessageReader,
  type MessageWriter,
} from 'vscode-languageserver/node';

export type Verdict = 'pass' | 'drop' | { code: number; message: string };

/** Where the client is in the lifecycle, from the messages it has sent; what to do with each next one. */
export class LifecycleGate {
  private state: 'new' | 'running' | 'shut down' = 'new';

  get shutDown(): boolean {
    return this.state === 'shut down';
  }

  check(m: Message): Verdict {
    if (Message.isResponse(m)) return 'pass';
    if (Message.isNotification(m)) {
      if (m.method === 'exit') return 'pass';
      return this.state === 'running' ? 'pass' : 'drop';
    }
    if (!Message.isRequest(m))
      return { code: ErrorCodes.InvalidRequest, message: 'not a JSON-RPC request, notification or response' };
    if (this.state === 'new') {
      if (m.method !== 'initialize')
        return { code: ErrorCodes.ServerNotInitialized, message: `${m.method} before initialize` };
      this.state = 'running';
      return 'pass';
    }
    if (this.state === 'shut down') return { code: ErrorCodes.InvalidRequest, message: `${m.method} after shutdown` };
    if (m.method === 'initialize')
      return { code: ErrorCodes.InvalidRequest, message: 'initialize was already received' };
    if (m.method === 'shutdown') this.state = 'shut down';
    return 'pass';
  }
}

/** Passes on what the gate lets through; answers what it refuses itself; ends the process on a read error. */
class GatedReader implements MessageReader {
  constructor(
    private readonly inner: MessageReader,
    private readonly writer: MessageWriter,
    private readonly gate: LifecycleGate,
  ) {
    inner.onError((e) => fatal(`lockpath: cannot read the LSP stream: ${e.message}`));
  }

  get onError(): MessageReader['onError'] {
    return this.inner.onError;
  }

  get onClose(): MessageReader['onClose'] {
    return this.inner.onClose;
  }

  get onPartialMessage(): MessageReader['onPartialMessage'] {
    return this.inner.onPartialMessage;
  }

  listen(callback: DataCallback): Disposable {
    return this.inner.listen((m) => {
      const verdict = this.gate.check(m);
      if (verdict === 'pass') return callback(m);
      if (verdict === 'drop') return;
      const id = (m as { id?: unknown } | null)?.id;
      if (!Message.isRequest(m)) process.stderr.write(`lockpath: ${verdict.message}: ${safeJson(m).slice(0, 200)}\n`);
      void this.writer.write({
        jsonrpc: '2.0',
        id: typeof id === 'number' || typeof id === 'string' ? id : null,
        error: verdict,
      } as Message);
    });
  }

  dispose(): void {
    this.inner.dispose();
  }
}

/** The connection the command line asks for (--stdio, --node-ipc), gated; other transports as the library makes them. */
export function openConnection(argv: readonly string[] = process.argv.slice(2)): Connection {
  const gate = new LifecycleGate();
  if (argv.includes('--node-ipc')) {
    const writer = new IPCMessageWriter(process);
    return createConnection(ProposedFeatures.all, new GatedReader(new IPCMessageReader(process), writer, gate), writer);
  }
  if (!argv.includes('--stdio')) return createConnection(ProposedFeatures.all);
  const writer = new StreamMessageWriter(process.stdout);
  const connection = createConnection(
    ProposedFeatures.all,
    new GatedReader(new StreamMessageReader(process.stdin), writer, gate),
    writer,
  );
  // What the library does for a stdio connection it opens itself: stdout is the LSP stream, so console output
  // goes to the client's log; and the end of stdin ends the server.
  const log = (...args: unknown[]): void => connection.console.log(format(...args));
  console.log = console.info = console.debug = log;
  console.warn = (...args: unknown[]) => connection.console.warn(format(...args));
  console.error = (...args: unknown[]) => connection.console.error(format(...args));
  const ended = (): never => process.exit(gate.shutDown ? 0 : 1);
  process.stdin.on('end', ended);
  process.stdin.on('close', ended);
  return connection;
}

function fatal(message: string): never {
  try {
    writeSync(2, `${message}; exiting so that the client starts the server again\n`);
  } catch {
    // stderr is gone too: the exit status still says it
  }
  process.exit(1);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
