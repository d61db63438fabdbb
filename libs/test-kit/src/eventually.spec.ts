import { describe, expect, it } from '@jest/globals';
import { eventually } from './eventually.js';

describe('eventually', () => {
  it('returns what the assertion returns once it passes', async () => {
    let tries = 0;
    const value = await eventually(
      () => {
        tries++;
        expect(tries).toBe(3);
        return 'third time';
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('third time');
    expect(tries).toBe(3);
  });

  it('waits for an async assertion', async () => {
    let ready = false;
    setTimeout(() => (ready = true), 30);
    await eventually(async () => expect(ready).toBe(true), { intervalMs: 5 });
    expect(ready).toBe(true);
  });

  it('rethrows the last failure when the time is up, after trying more than once', async () => {
    let tries = 0;
    const failure = await eventually(
      () => {
        tries++;
        throw new Error(`not yet (${tries})`);
      },
      { timeoutMs: 50, intervalMs: 5 },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe(`not yet (${tries})`);
    expect(tries).toBeGreaterThan(1);
  });

  it('awaits a try still running at the deadline, never abandons it', async () => {
    const value = await eventually(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 40));
        return 'late but passing';
      },
      { timeoutMs: 10 },
    );
    expect(value).toBe('late but passing');
  });
});
