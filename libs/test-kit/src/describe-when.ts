import { describe } from '@jest/globals';

/**
 * A suite that needs something this machine may not have (a server, a connection string).
 * When it cannot run, jest lists it as skipped under a name that says why, and the reason is
 * printed once in the default output (jest's summary alone only counts skipped tests).
 */
export function describeWhen(condition: boolean, reason: string, name: string, fn: () => void): void {
  if (condition) {
    describe(name, fn);
    return;
  }
  process.stderr.write(`skipped suite "${name}": ${reason}\n`);
  describe.skip(`${name} (skipped: ${reason})`, fn);
}
