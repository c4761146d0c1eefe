// Cold indexing on two threads: this one and a helper worker take files from one shared counter, so neither waits
// for the other and a helper that is still starting simply takes fewer. The helper posts each file's facts back as
// plain data (structured clone); the caller stays synchronous (Atomics.wait, then receiveMessageOnPort).
// Without the helper's script (unbundled runs), on one core, or for a small tree, everything runs here. Opt-in
// (WorkspaceOptions.indexThreads): once started it indexes the 6.1 KVM tree 1.4-1.56x as fast as one thread on this
// 2-core machine, but starting it costs about as much as it saves in a one-shot run, and its isolate adds 10-25 MB
// of peak RSS (npm run bench prints the 1-vs-2 figure).
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Model } from '../model/types';
import type { IndexResult } from './job';

export interface IndexJob {
  path: string;
  text: string;
}

/** A batch the helper works on: the jobs, the model, and [next job, jobs done] shared by both threads. */
export interface Batch {
  jobs: IndexJob[];
  model: Model;
  counters: SharedArrayBuffer;
}

export interface Indexed {
  index: number;
  result: IndexResult;
}

/** Less text than this indexes faster than a worker starts (about 100 ms to load the bundle and the grammar). */
export const PARALLEL_MIN_CHARS = 256 * 1024;
/** No job finished for this long (beyond the parser's own 10 s budget): the helper is taken for dead. */
const STALL_MS = 30_000;
const NEXT = 0;
const DONE = 1;

interface Helper {
  worker: Worker;
  port: MessagePort;
}

let helper: Helper | undefined;

/** Indexes every job, on `threads` threads (1 or 2); results in job order. */
export function indexJobs(
  jobs: IndexJob[],
  model: Model,
  threads: number,
  indexHere: (job: IndexJob) => IndexResult,
): IndexResult[] {
  const chars = jobs.reduce((n, j) => n + j.text.length, 0);
  const h =
    threads > 1 && availableParallelism() > 1 && jobs.length > 1 && chars >= PARALLEL_MIN_CHARS
      ? startHelper()
      : undefined;
  if (!h) return jobs.map(indexHere);
  const counters = new SharedArrayBuffer(8);
  const shared = new Int32Array(counters);
  // Largest first, so the last files taken are small and neither thread is left alone with a big one.
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b].text.length - jobs[a].text.length || a - b);
  const batch: Batch = { jobs: order.map((i) => jobs[i]), model, counters };
  h.port.postMessage(batch);
  const results = new Array<IndexResult | undefined>(jobs.length);
  const take = (): void => {
    for (let m = receiveMessageOnPort(h.port); m; m = receiveMessageOnPort(h.port)) {
      const { index, result } = m.message as Indexed;
      results[order[index]] = result;
    }
  };
  for (let i = Atomics.add(shared, NEXT, 1); i < jobs.length; i = Atomics.add(shared, NEXT, 1)) {
    results[order[i]] = indexHere(jobs[order[i]]);
    Atomics.add(shared, DONE, 1);
    // Copy in what the helper has finished meanwhile, rather than all of it at the end.
    take();
  }
  let seen = Atomics.load(shared, DONE);
  let progressAt = performance.now();
  while (seen < jobs.length) {
    Atomics.wait(shared, DONE, seen, 1000);
    const now = Atomics.load(shared, DONE);
    if (now !== seen) progressAt = performance.now();
    else if (performance.now() - progressAt > STALL_MS) {
      stopHelper();
      break;
    }
    seen = now;
  }
  take();
  h.port.unref(); // posting refs the port again: an idle helper must not keep the process alive
  // A job the helper claimed but never finished (it died) is done here.
  return results.map((r, i) => r ?? indexHere(jobs[i]));
}

function startHelper(): Helper | undefined {
  if (helper) return helper;
  const script = helperScript();
  if (!script) return undefined;
  try {
    const { port1, port2 } = new MessageChannel();
    // The helper's output must never reach this process's stdout (the language server talks over it). It prints
    // nothing; its streams are not read either, since a stream being read keeps this process alive.
    // A small young generation: the helper's garbage is short-lived, and its peak RSS counts against the process's.
    const worker = new Worker(script, {
      workerData: { lockpathIndexWorker: true },
      stdout: true,
      stderr: true,
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    worker.on('error', () => stopHelper());
    worker.on('exit', () => {
      if (helper?.worker === worker) helper = undefined;
    });
    worker.postMessage({ port: port2 }, [port2]);
    worker.unref();
    port1.unref();
    helper = { worker, port: port1 };
    return helper;
  } catch {
    return undefined;
  }
}

/** Ends the helper (it is started again when next needed). */
export function stopHelper(): void {
  const h = helper;
  helper = undefined;
  if (!h) return;
  h.port.close();
  void h.worker.terminate();
}

/** The bundle dist/lib/index-worker.js, found from wherever this code was bundled into (lib, cli, server, test). */
function helperScript(): string | undefined {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    for (const candidate of [join(dir, 'lib', 'index-worker.js'), join(dir, 'dist', 'lib', 'index-worker.js')]) {
      if (existsSync(candidate)) return candidate;
    }
    if (dirname(dir) === dir) return undefined;
  }
}
