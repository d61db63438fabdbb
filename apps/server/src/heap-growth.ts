import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * How much V8 lets the old generation grow past what survived the last full collection before
 * it collects again, in percent. V8 picks a factor of up to 4 by itself on a machine with memory
 * to spare, so under load the server's heap filled with garbage up to ~270 MB over a live set of
 * ~100 MB (peak RSS 400–450 MB). At 30 % the peak stayed near 205 MB, at 50 % near 220 MB with
 * a full collection (and its pause in answering) 40 % less often under load (bench:api,
 * docs/benchmarks.md).
 */
export const HEAP_GROWING_PERCENT = 50;

/** Whether the process was started with a growth of its own (`node --heap-growing-percent=…`, NODE_OPTIONS): that one stays. */
export function heapGrowthGiven(execArgv: readonly string[], nodeOptions: string): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg));
}

/** Sets the growth to HEAP_GROWING_PERCENT unless one was given; returns whether it did. */
export function limitHeapGrowth(): boolean {
  if (heapGrowthGiven(process.execArgv, process.env.NODE_OPTIONS ?? '')) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}

/**
 * One full collection once the server is up. Until V8's first full collection the old generation
 * may grow to a start-up limit of its own (the growth above applies from that collection on),
 * which the first minute of load reached: RSS 294 MB before that collection, ~210 MB after.
 * Collected here, the limit is set from what the started server really holds (~70 MB). `gc` is
 * taken from a fresh context, so nothing else in the process sees it.
 */
export function collectOnceAfterStart(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
}
