import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(import.meta.dirname, '..', '..');

export interface RunningServer {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * Starts the server process from source, as `npm start` runs the build, with `env` (PORT 0
 * unless given); resolves with its URL once it logs that it listens, rejects if it exits first.
 */
export function startServerProcess(env: Record<string, string>): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', '@swc-node/register/esm-register', 'apps/server/src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(root, 'tsconfig.json'), PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      let parsed: { msg?: unknown; url?: unknown };
      try {
        parsed = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof parsed.msg === 'string' && parsed.msg.startsWith('listening on ') && typeof parsed.url === 'string') {
        resolve({ url: parsed.url, child, exited });
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${lines.join('\n')}`)));
  });
}

/** SIGTERM, as a process manager stops it; resolves with the exit code. */
export async function stopServerProcess(running: RunningServer): Promise<number | null> {
  if (running.child.exitCode === null) running.child.kill('SIGTERM');
  return running.exited;
}
