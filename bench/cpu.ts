import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type pg from 'pg';

// CPU accounting for the benchmarks: this process (process.cpuUsage) and the backends of one
// database (/proc, so only when PostgreSQL runs on this machine). CPU per operation is much
// less sensitive to other load on a shared machine than a rate is.

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) of a process, or undefined when /proc cannot tell. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  node: NodeJS.CpuUsage;
  backends: Map<number, number> | undefined;
}

/** Samples this process and the backends of `database` (default: the admin connection's). */
export async function sampleCpu(admin: pg.Client, database?: string): Promise<CpuSample> {
  const { rows } = database
    ? await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database])
    : await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database()');
  let backends: Map<number, number> | undefined = new Map();
  for (const { pid } of rows) {
    const seconds = processCpuSeconds(pid);
    if (seconds === undefined) {
      backends = undefined;
      break;
    }
    backends.set(pid, seconds);
  }
  return { node: process.cpuUsage(), backends };
}

/** CPU seconds spent between two samples; backends that started in between count in full. */
export function cpuBetween(before: CpuSample, after: CpuSample): { node: number; postgres: number | undefined } {
  const node = (after.node.user - before.node.user + after.node.system - before.node.system) / 1e6;
  if (!before.backends || !after.backends) return { node, postgres: undefined };
  let postgres = 0;
  for (const [pid, seconds] of after.backends) postgres += seconds - (before.backends.get(pid) ?? 0);
  return { node, postgres };
}
