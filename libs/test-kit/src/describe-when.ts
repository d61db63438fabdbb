import { describe } from '@jest/globals';

/**
 * A suite that needs something this machine may not have (a server, a connection string).
 * When it cannot run, jest lists it as skipped under a name that says why.
 */
export function describeWhen(condition: boolean, reason: string, name: string, fn: () => void): void {
  if (condition) describe(name, fn);
  else describe.skip(`${name} (skipped: ${reason})`, fn);
}
