// A worker thread of TableBuilders: builds Maglev tables (lb/maglev, pure computation) and hands
// each one back without copying (the table's buffer is transferred).
import { parentPort } from 'node:worker_threads';
import { buildMaglevTable, type MaglevOptions } from '../maglev/index.js';

parentPort!.on('message', (m: { id: number; request: MaglevOptions }) => {
  try {
    const { table } = buildMaglevTable(m.request);
    parentPort!.postMessage({ id: m.id, table }, [table.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
