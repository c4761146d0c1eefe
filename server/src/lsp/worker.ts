// Where the Engine runs. In a worker thread (the bundle dist/server/server.js doubles as the worker script), so
// the LSP thread stays responsive and stale work can be cancelled by ending the worker; or, when no worker script
// is found, in-process (same messages, analysis on the LSP thread).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { Engine, type FromEngine, type ToEngine } from './engine';

export interface AnalysisHost {
  post(m: ToEngine): void;
  /** Can a running analysis be abandoned (by ending the worker)? */
  readonly cancellable: boolean;
  dispose(): void;
}

export interface HostEvents {
  message(m: FromEngine): void;
  /** The host died on its own (crash, out of memory); it must be replaced. */
  died(reason: string): void;
}

/** The worker script: this very bundle when it is the server, else the server bundle beside the CLI's. */
export function workerScript(): string | undefined {
  const candidates = [join(__dirname, 'server.js'), resolve(__dirname, '..', 'server', 'server.js')];
  return candidates.find((c) => existsSync(c) && c.endsWith('server.js'));
}

export class WorkerHost implements AnalysisHost {
  readonly cancellable = true;
  private readonly worker: Worker;
  private disposed = false;

  constructor(script: string, events: HostEvents) {
    // The worker's own output must never reach this process's stdout: with --stdio that is the LSP stream.
    this.worker = new Worker(script, { workerData: { lockpathAnalysisWorker: true }, stdout: true, stderr: true });
    this.worker.stdout.on('data', (d: Buffer) => process.stderr.write(d));
    this.worker.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    this.worker.on('message', (m: FromEngine) => {
      if (!this.disposed) events.message(m);
    });
    this.worker.on('error', (e) => {
      if (!this.disposed) events.died(`analysis worker failed: ${e.stack ?? e}`);
    });
    this.worker.on('exit', (code) => {
      if (!this.disposed) events.died(`analysis worker exited with code ${code}`);
      this.disposed = true;
    });
  }

  post(m: ToEngine): void {
    if (!this.disposed) this.worker.postMessage(m);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.worker.terminate();
  }
}

export class InlineHost implements AnalysisHost {
  readonly cancellable = false;
  private readonly engine: Engine;
  private disposed = false;

  constructor(events: HostEvents) {
    this.engine = new Engine((m) =>
      setImmediate(() => {
        if (!this.disposed) events.message(m);
      }),
    );
  }

  post(m: ToEngine): void {
    if (!this.disposed) setImmediate(() => void this.engine.handle(m));
  }

  dispose(): void {
    this.disposed = true;
    setImmediate(() => this.engine.dispose());
  }
}

export function createHost(events: HostEvents): AnalysisHost {
  // LOCKPATH_INLINE_ANALYSIS=1 keeps the analysis on the LSP thread (debugging; the tests cover both).
  const script = process.env.LOCKPATH_INLINE_ANALYSIS === '1' ? undefined : workerScript();
  if (script) {
    try {
      return new WorkerHost(script, events);
    } catch {
      // fall through to in-process analysis
    }
  }
  return new InlineHost(events);
}

/** True inside the analysis worker: main.ts then runs the engine instead of a server. */
export function isAnalysisWorker(): boolean {
  return !!parentPort && !!(workerData as { lockpathAnalysisWorker?: boolean } | undefined)?.lockpathAnalysisWorker;
}

export function runWorker(): void {
  const port = parentPort!;
  const engine = new Engine((m) => port.postMessage(m));
  port.on('message', (m: ToEngine) => void engine.handle(m));
}
