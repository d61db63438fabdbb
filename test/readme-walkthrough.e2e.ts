import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '#test-support';

const root = join(import.meta.dirname, '..');

/** The ```sh blocks of the README section that starts with `heading`, up to the next heading of any level. */
function shellBlocksOf(readme: string, heading: string): string[] {
  const from = readme.indexOf(`${heading}\n`);
  if (from < 0) throw new Error(`README has no section "${heading}"`);
  const rest = readme.slice(from + heading.length);
  const section = rest.slice(0, rest.search(/\n#{2,3} /) >>> 0 || rest.length);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The top-level keys of an example answer written with `...` and `{...}` placeholders. */
function topLevelKeys(example: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < example.length; i++) {
    const c = example[i]!;
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"' && depth === 1) {
      const end = example.indexOf('"', i + 1);
      if (example[end + 1] === ':') keys.push(example.slice(i + 1, end));
      i = end;
    } else if (c === '"') i = example.indexOf('"', i + 1);
  }
  return keys;
}

describe('the README walk-through, run as written (embedded store)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('pglite');
  });
  afterAll(() => t?.stop());

  it('answers every command with the shape the README shows, and the login ends with the OTP Email factor verified', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = [
      ...shellBlocksOf(readme, '## First steps: a user with OTP Email, with curl'),
      ...shellBlocksOf(readme, '### Logging in with the factor (the embedded outbox)'),
    ];
    expect(blocks).toHaveLength(2);
    const script = blocks
      .join('\n')
      .split('\n')
      .filter((line) => !/^npm start\b/.test(line)) // the test started the server
      .join('\n')
      .replaceAll('localhost:8080', new URL(t.url).host)
      .replaceAll('data/', `${t.dataDir}/`);

    // Asynchronous: the server answers from this very process.
    const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      // No startup files and no stdin: bash run with a socket as stdin at a low SHLVL takes itself
      // for a remote shell and sources the system bashrc, which `-u` then trips over.
      const child = spawn('bash', ['--norc', '-euo', 'pipefail', '-c', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);

    const answers = run.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
    const shown = script
      .split('\n')
      .filter((line) => line.startsWith('# → '))
      .map((line) => line.slice('# → '.length).replace(/^\d{3} /, '').replace(/\s{2,}\(.*\)$/, ''));
    expect(answers).toHaveLength(shown.length);
    shown.forEach((example, i) => {
      const keys = topLevelKeys(example);
      expect(keys.length).toBeGreaterThan(0);
      expect({ command: i, keys: Object.keys(answers[i]!).filter((k) => keys.includes(k)).sort() }).toEqual({ command: i, keys: [...keys].sort() });
    });
    const session = answers[shown.findIndex((e) => e.startsWith('{"session"'))] as { session: { factors: { otpEmail?: { verifiedAt?: string } } } };
    expect(session.session.factors.otpEmail?.verifiedAt).toEqual(expect.any(String));
  });
});
