/**
 * Child-process entry that runs s3rver (s3rver-app.mjs), for a process without OpenSSL's legacy
 * provider (see s3-server.ts for why).
 * Plain JavaScript on purpose: it is started with `node --openssl-legacy-provider` and must load
 * without a TypeScript loader. Protocol over the IPC channel:
 *   parent → child: options as argv[2] (JSON); `{ type: 'stop' }` to close.
 *   child → parent: `{ type: 'ready', port }` or `{ type: 'error', code, message }`.
 * The child also exits when the IPC channel closes, so it never outlives a crashed parent.
 */
import { createS3rver } from './s3rver-app.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const server = createS3rver(options);

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  try {
    const closed = server.close();
    // The SDK keeps connections alive; close() alone would wait for them to idle out.
    server.httpServer?.closeAllConnections();
    await closed;
  } catch {
    // Not running (start failed): nothing to close.
  }
  process.exit(code);
}

process.on('message', (message) => {
  if (message?.type === 'stop') void shutdown(0);
});
process.on('disconnect', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/** Resolve once the message is handed to the IPC channel, so an exit right after cannot drop it. */
const report = (message) =>
  new Promise((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));

// s3rver's run() never rejects on a listen failure: the server emits 'error' with nobody listening,
// which surfaces here. Report it (EADDRINUSE becomes ADDRESS_IN_USE in the parent) and exit.
process.on('uncaughtException', async (err) => {
  await report({ type: 'error', code: err?.code ?? 'UNKNOWN', message: String(err?.message ?? err) });
  await shutdown(1);
});

const address = await server.run();
await report({ type: 'ready', port: address.port });
