// The index helper's thread (bundled as dist/lib/index-worker.js; see parallel.ts): loads the parser once, then for
// each batch takes jobs from the shared counter until none are left, posting each file's facts back.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { loadParser } from '../parse/parser';
import { indexText } from './job';
import type { Batch, Indexed } from './parallel';

const NEXT = 0;
const DONE = 1;

if (parentPort && (workerData as { lockpathIndexWorker?: boolean } | undefined)?.lockpathIndexWorker) {
  // A parser that fails to load rejects here, which ends the thread: the main thread sees the worker's error.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  parentPort.once('message', async ({ port }: { port: MessagePort }) => {
    const parser = await loadParser();
    port.on('message', ({ jobs, model, counters }: Batch) => {
      const shared = new Int32Array(counters);
      for (let i = Atomics.add(shared, NEXT, 1); i < jobs.length; i = Atomics.add(shared, NEXT, 1)) {
        const done: Indexed = { index: i, result: indexText(parser, jobs[i].path, jobs[i].text, model) };
        port.postMessage(done);
        Atomics.add(shared, DONE, 1);
        Atomics.notify(shared, DONE);
      }
    });
  });
}
