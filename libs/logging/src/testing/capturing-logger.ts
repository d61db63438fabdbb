import { Writable } from 'node:stream';
import { createLogger, type Logger } from '#logging';

/** A debug-level pino logger whose output a test can read: each line raw and parsed. */
export function capturingLogger(): { logger: Logger; raw: string[]; lines: Array<Record<string, any>> } {
  const raw: string[] = [];
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  return { logger: createLogger('debug', destination), raw, lines };
}
