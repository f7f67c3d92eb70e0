// The differential run's case generator, on a worker thread: fast-check's generation was a fifth of
// the main thread's time per case, and the main thread (our side of every comparison) is what bounds
// a run. Each request names a batch (its seed and size); the answer is the batch's cases and their
// requests to the original, exactly what fc.sample gives for that seed on the main thread.
import { parentPort } from 'node:worker_threads';
import { generatedBatch, type BatchRequest } from './batches.js';

parentPort!.on('message', (req: BatchRequest) => {
  parentPort!.postMessage(generatedBatch(req));
});
