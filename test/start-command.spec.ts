import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The server's node options are given where the process starts: `npm start` and the image's
// CMD (V8's worker pool and its pretenuring are fixed before any of the server's code runs).
// The benchmark reads them from the start script; the image must start the server with the
// same ones.
const root = join(import.meta.dirname, '..');
const ENTRY = 'dist/apps/server/src/main.js';

/** The words of `npm start`'s script. */
function startWords(): string[] {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start.split(/\s+/);
}

/** The words of the image's CMD (its exec form, a JSON array). */
function imageCommand(): string[] {
  const cmd = readFileSync(join(root, 'Dockerfile'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('CMD '))
    .at(-1);
  if (!cmd) throw new Error('the Dockerfile has no CMD');
  return JSON.parse(cmd.slice('CMD '.length));
}

describe('how the server is started', () => {
  it('npm start runs node with the server entry, its options before the entry', () => {
    const words = startWords();
    expect(words.slice(0, 2)).toEqual(['exec', 'node']);
    expect(words.at(-1)).toBe(ENTRY);
  });

  it("gives V8's worker pool one thread, so that the garbage collector's helpers leave the other cores to PostgreSQL and the requests", () => {
    expect(startWords()).toContain('--v8-pool-size=1');
  });

  it('turns allocation-site pretenuring off, so that rows read for one request are not made in the old generation', () => {
    expect(startWords()).toContain('--no-allocation-site-pretenuring');
  });

  it("the image's CMD starts the server with the same node options as npm start", () => {
    const words = startWords();
    const npmStart = words.slice(2, -1);
    const image = imageCommand();
    expect(image[0]).toBe('node');
    expect(image.at(-1)).toBe(ENTRY);
    expect(image.slice(1, -1)).toEqual(npmStart);
  });
});
