import { describe, expect, it } from '@jest/globals';
import { heapGrowthGiven } from './heap-growth.js';

describe('the heap growth the server sets', () => {
  it('Given no growth on the command line or in NODE_OPTIONS, Then the server sets its own', () => {
    expect(heapGrowthGiven([], '')).toBe(false);
    expect(heapGrowthGiven(['--enable-source-maps'], '--max-old-space-size=512')).toBe(false);
  });

  it('Given a growth of the operator (either spelling, either place), Then it stays', () => {
    expect(heapGrowthGiven(['--heap-growing-percent=50'], '')).toBe(true);
    expect(heapGrowthGiven([], '--enable-source-maps --heap_growing_percent=80')).toBe(true);
    expect(heapGrowthGiven(['--heap-growing-percent', '50'], '')).toBe(true);
  });
});
