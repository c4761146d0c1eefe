// The language server's own entry (dist/server/server.js): IPC or stdio, picked from argv by createConnection.
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';

startServer(createConnection(ProposedFeatures.all));
