/**
 * The hang watch's disk writer, a thread of the hang watch thread (hang-records.ts). Every file
 * the watch writes (applying.json, hung-messages.json, hung-views.json) is written here, in the
 * order asked, each answered with whether it was done. A disk that hangs holds this thread in
 * its write, never the watch: the watch ends a stuck process on time whatever the disk does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type RecordWrite, writeRecord } from './hang-records.js';

const { dataDir } = workerData as { readonly dataDir: string };
const port = parentPort;
if (!port) throw new Error('hang-record-writer.js runs as a worker thread (src/hang-records.ts starts it)');

port.on('message', (m: { readonly id: number; readonly write: RecordWrite } | 'stop') => {
  if (m === 'stop') {
    port.close();
    return;
  }
  let ok = true;
  try {
    writeRecord(dataDir, m.write);
  } catch {
    ok = false;
  }
  port.postMessage({ id: m.id, ok });
});
