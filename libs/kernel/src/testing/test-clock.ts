import type { Clock } from '#kernel';

/** A clock the test moves. `now` is bound, so it can be handed around on its own. */
export class TestClock implements Clock {
  constructor(public time = Date.parse('2026-03-01T09:00:00.000Z')) {}
  readonly now = (): Date => new Date(this.time);
  advance(ms: number): void {
    this.time += ms;
  }
  set(at: Date | string): void {
    this.time = new Date(at).getTime();
  }
}
