/** Seeded pseudo-random numbers, so generated weights are identical on every run and machine. */

/** mulberry32: a tiny 32-bit PRNG; returns a function yielding floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
