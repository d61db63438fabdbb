import { randomInt } from 'node:crypto';

/**
 * ZITADEL-style numeric ids (ZITADEL uses sonyflake): a decimal string of 18 or 19 digits,
 * roughly ordered by creation time, that fits a signed 64-bit integer.
 *
 * Layout of the 63 bits, high to low:
 *   38 bits  time in 10 ms ticks since 2020-01-01 (enough until the year 2107)
 *   16 bits  node: random per process, so two processes almost never share a number space
 *    9 bits  sequence within the tick (512 ids per 10 ms per process)
 *
 * Within one process ids never repeat and always increase: when the 512 numbers of a tick are
 * used up, the generator moves on to the next tick (running slightly ahead of the clock), and a
 * clock that steps back is ignored. Two processes collide only when they drew the same node
 * (1 in 65,536) and hit the same tick and sequence; the stores refuse a second `no_stream`
 * append anyway, so even that ends in a conflict, never in two objects sharing an id.
 *
 * Ids made today have 18 digits; from mid-2029 they have 19 (and fit 63 bits until 2107).
 */
const EPOCH_MS = Date.UTC(2020, 0, 1);
const TICK_MS = 10;
const NODE_BITS = 16n;
const SEQUENCE_BITS = 9n;
const MAX_SEQUENCE = (1 << Number(SEQUENCE_BITS)) - 1;

export class IdGenerator {
  private lastTick = -1;
  private sequence = 0;

  constructor(
    private readonly node: number = randomInt(0, 1 << Number(NODE_BITS)),
    private readonly clock: () => number = Date.now,
  ) {
    if (!Number.isInteger(node) || node < 0 || node >= 1 << Number(NODE_BITS)) throw new RangeError(`node must be in [0, 65535], got ${node}`);
  }

  next(): string {
    const tick = Math.floor((this.clock() - EPOCH_MS) / TICK_MS);
    if (tick > this.lastTick) {
      this.lastTick = tick;
      this.sequence = 0;
    } else if (this.sequence < MAX_SEQUENCE) {
      this.sequence++;
    } else {
      // This tick is used up (or the clock went back): borrow the next one.
      this.lastTick++;
      this.sequence = 0;
    }
    const id = (((BigInt(this.lastTick) << NODE_BITS) | BigInt(this.node)) << SEQUENCE_BITS) | BigInt(this.sequence);
    return id.toString();
  }
}

const processIds = new IdGenerator();

/** A new id for an organization, a user, a token, an instance: see IdGenerator. */
export function newId(): string {
  return processIds.next();
}
