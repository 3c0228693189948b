/** Seeded pseudo-random numbers, so generated weights are identical on every run and machine. */

import { mulberry32 } from '../../src/tensor/seeded-random';

export { mulberry32 };

/** Standard normal samples (Box-Muller) drawn from a uniform source. */
export function normal(uniform: () => number): () => number {
  return () => {
    const u1 = 1 - uniform(); // (0, 1]: log is finite
    const u2 = uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}

/** A Float32Array of `count` values drawn from N(mean, std^2) with the given seed. */
export function gaussianArray(seed: number, count: number, std: number, mean = 0): Float32Array {
  const draw = normal(mulberry32(seed));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = mean + std * draw();
  return out;
}
