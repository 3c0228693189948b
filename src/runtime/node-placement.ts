/**
 * Where a session's graph nodes ran, read from ONNX Runtime's profile of one run: each node's
 * kernel event names the execution provider that ran it. Pure, so that it is tested on any profile.
 */

export interface NodePlacement {
  /** Nodes per ORT provider name, e.g. { CUDAExecutionProvider: 41, CPUExecutionProvider: 3 }; empty when the probe failed. */
  readonly nodesByProvider: Readonly<Record<string, number>>;
  /** Why nothing is known: the probe run or its profile failed. */
  readonly error?: string;
}

const KERNEL_SUFFIX = '_kernel_time';

/** Distinct nodes per provider among the profile's node kernel events (a node run twice counts once). */
export function countNodesByProvider(profile: unknown): Record<string, number> {
  if (!Array.isArray(profile)) throw new Error('an ONNX Runtime profile must be a JSON array of events');
  const nodes = new Map<string, Set<string>>();
  for (const event of profile as unknown[]) {
    if (typeof event !== 'object' || event === null) continue;
    const { cat, name, args } = event as { cat?: unknown; name?: unknown; args?: { provider?: unknown } };
    if (cat !== 'Node' || typeof name !== 'string' || !name.endsWith(KERNEL_SUFFIX)) continue;
    const provider = args?.provider;
    if (typeof provider !== 'string' || provider === '') continue;
    let names = nodes.get(provider);
    if (!names) nodes.set(provider, (names = new Set()));
    names.add(name.slice(0, -KERNEL_SUFFIX.length));
  }
  return Object.fromEntries([...nodes].sort(([a], [b]) => a.localeCompare(b)).map(([provider, names]) => [provider, names.size]));
}
