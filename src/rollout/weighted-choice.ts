/**
 * Picks a version by weight, for requests that pin none. With a key, by weighted rendezvous
 * hashing: each version scores -weight / ln(hash01(key, version)) and the highest wins, so a key
 * keeps its version while the weights stand, and a weight change moves only the keys it must
 * (raising one version's weight only takes keys to it). Without a key, at random by weight.
 * Built once per model entry; a pick allocates nothing.
 */

/** What a pick chooses among: the versions serving, each ready or not at this moment. */
export interface Candidate {
  readonly ready: boolean;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Between the key and the version name, so that ('a1', '2') and ('a', '12') hash apart. */
const SEPARATOR = 0x1f;

export class WeightedChoice {
  /** Only versions with a weight > 0, ascending. */
  private readonly versions: number[] = [];
  private readonly weights: number[] = [];
  /** Each version's name as UTF-16 code units, to continue the key's hash with. */
  private readonly names: number[][] = [];

  constructor(weights: ReadonlyMap<number, number>) {
    const positive = [...weights].filter(([, weight]) => weight > 0).sort(([a], [b]) => a - b);
    // Weights near Number.MAX_VALUE would sum to Infinity and send every random pick to the last
    // version; scaled by the largest they keep their ratios. Only then, so that usual weights hash
    // keys exactly as before.
    const sum = positive.reduce((total, [, weight]) => total + weight, 0);
    const divisor = Number.isFinite(sum) ? 1 : Math.max(...positive.map(([, weight]) => weight));
    for (const [version, weight] of positive) {
      this.versions.push(version);
      this.weights.push(weight / divisor);
      this.names.push([...String(version)].map((c) => c.charCodeAt(0)));
    }
  }

  /**
   * The chosen version among those in `serving` that have a weight and are ready; undefined when
   * none is. A version that is not ready is passed over as if its weight were 0, so its keys
   * move to the others meanwhile and come back after.
   */
  pick<T extends Candidate>(serving: ReadonlyMap<number, T>, key: string | undefined, random: () => number = Math.random): T | undefined {
    return key === undefined ? this.byRandom(serving, random()) : this.byKey(serving, key);
  }

  private byKey<T extends Candidate>(serving: ReadonlyMap<number, T>, key: string): T | undefined {
    const keyHash = fnv1a(FNV_OFFSET, key);
    let best: T | undefined;
    let bestScore = -1;
    for (let i = 0; i < this.versions.length; i++) {
      const candidate = serving.get(this.versions[i]);
      if (candidate === undefined || !candidate.ready) continue;
      const score = -this.weights[i] / Math.log(unitInterval(versionHash(keyHash, this.names[i])));
      if (score > bestScore) {
        best = candidate;
        bestScore = score;
      }
    }
    return best;
  }

  private byRandom<T extends Candidate>(serving: ReadonlyMap<number, T>, draw: number): T | undefined {
    let total = 0;
    for (let i = 0; i < this.versions.length; i++) if (serving.get(this.versions[i])?.ready) total += this.weights[i];
    let left = draw * total;
    let last: T | undefined;
    for (let i = 0; i < this.versions.length; i++) {
      const candidate = serving.get(this.versions[i]);
      if (candidate === undefined || !candidate.ready) continue;
      left -= this.weights[i];
      if (left < 0) return candidate;
      last = candidate;
    }
    // Rounding can leave a sliver past the last weight.
    return last;
  }
}

/** hash(key + separator + version): FNV-1a over UTF-16 code units, then murmur3's finalizer to spread the bits. */
function versionHash(keyHash: number, name: readonly number[]): number {
  let h = Math.imul(keyHash ^ SEPARATOR, FNV_PRIME);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name[i], FNV_PRIME);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fnv1a(seed: number, text: string): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

/** A 32-bit hash as a number strictly inside (0, 1), so its logarithm is finite and negative. */
function unitInterval(hash: number): number {
  return (hash + 0.5) / 4294967296;
}
