// The language server's own entry (dist/server/server.js): IPC or stdio, picked from argv (transport.ts).
// The same bundle is the analysis worker's script: inside that worker it runs the engine instead.
import { startServer } from './server';
import { isAnalysisWorker, runWorker } from './worker';

if (isAnalysisWorker()) runWorker();
else startServer();
