/**
 * Which execution providers a model version's sessions try, from its instance_group kind and
 * the server's settings: Triton's kinds, with REQUIRE_GPU for the automatic one.
 */
import type { ExecutionProvider } from '../config/schema';
import type { InstanceKind } from './instance-group-config';

export interface ProviderPlan {
  readonly providers: readonly ExecutionProvider[];
  /** Set: the first provider is required (no fallback); says who requires it. */
  readonly requiredBy?: string;
}

/**
 * KIND_CPU: the CPU provider only, CUDA never tried. KIND_GPU: CUDA or no load, as Triton refuses
 * a KIND_GPU model without a GPU (CPU stays in the list for the nodes CUDA has no kernel for).
 * KIND_AUTO: the server's list with its fallback; with REQUIRE_GPU a list that prefers CUDA
 * does not fall back.
 */
export function providerPlan(kind: InstanceKind, serverProviders: readonly ExecutionProvider[], requireGpu: boolean): ProviderPlan {
  if (kind === 'KIND_CPU') return { providers: ['cpu'] };
  if (kind === 'KIND_GPU') return { providers: ['cuda', 'cpu'], requiredBy: 'instance_group kind KIND_GPU' };
  if (requireGpu && serverProviders[0] === 'cuda') return { providers: serverProviders, requiredBy: 'REQUIRE_GPU' };
  return { providers: serverProviders };
}
