/**
 * The gate in front of the admin RPCs (the repository extension and RolloutAdmin): a bearer
 * token when one is configured, and the answer a listener gives for admin RPCs it does not serve.
 * The inference RPCs never pass through here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { Metadata, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { asInferenceError, InferenceError } from '../errors';
import type { Logger } from '../observability/logger';
import { logFailedRequest } from './request-log';
import { errorStatus } from './status';

/** GRPCInferenceService's admin RPCs: Triton's model repository extension. RepositoryIndex included, as it shows what the repository holds and why a model failed. */
export const REPOSITORY_RPCS = ['RepositoryIndex', 'RepositoryModelLoad', 'RepositoryModelUnload'] as const;

type UnaryHandler = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;

const unauthenticated = (message: string): InferenceError => new InferenceError('UNAUTHENTICATED', message);

/** The token file, read at each check: replacing the file rotates the token without a restart. */
export class AdminToken {
  private constructor(private readonly file: string) {}

  /** Fails at start, not at the first admin call, when the file cannot be read or is empty. */
  static async open(file: string): Promise<AdminToken> {
    const token = new AdminToken(file);
    await token.read();
    return token;
  }

  /** Resolves when the call's metadata carries `authorization: Bearer <token>`, else throws UNAUTHENTICATED. */
  async verify(metadata: Metadata): Promise<void> {
    const header = metadata.get('authorization')[0];
    const sent = typeof header === 'string' ? /^bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (sent === undefined) throw unauthenticated("admin RPCs need 'authorization: Bearer <token>' metadata");
    // Digests of equal length, so the comparison takes the same time whatever was sent.
    if (!timingSafeEqual(digest(sent), digest(await this.read()))) throw unauthenticated('the bearer token is not valid for admin RPCs');
  }

  private async read(): Promise<string> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      // The error code only: the caller may be anyone, the path is for the operator's configuration.
      throw new InferenceError('INTERNAL', `the admin token file (ADMIN_TOKEN_FILE) cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const token = text.trim();
    if (token === '' || /\s/.test(token)) throw new InferenceError('INTERNAL', 'the admin token file (ADMIN_TOKEN_FILE) must hold one token: not empty, no spaces');
    return token;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The unary `handlers`, each answering only after `token` accepts the call; all of them when no token is set. */
export function guardAdmin(handlers: UntypedServiceImplementation, token: AdminToken | undefined, log: Logger): UntypedServiceImplementation {
  if (!token) return handlers;
  return Object.fromEntries(
    Object.entries(handlers).map(([rpc, handler]) => {
      const guarded: UnaryHandler = (call, callback) => {
        token.verify(call.metadata).then(
          () => (handler as UnaryHandler)(call, callback),
          (err: unknown) => reply(callback, log, rpc, asInferenceError(err)),
        );
      };
      return [rpc, guarded];
    }),
  );
}

/** Unary handlers for admin RPCs this listener does not serve: UNIMPLEMENTED, and why. */
export function refuseAdmin(rpcs: readonly string[], why: string, log: Logger): UntypedServiceImplementation {
  const refusal: (rpc: string) => UnaryHandler = (rpc) => (_call, callback) => reply(callback, log, rpc, new InferenceError('UNIMPLEMENTED', `${rpc} ${why}`));
  return Object.fromEntries(rpcs.map((rpc) => [rpc, refusal(rpc)]));
}

function reply(callback: sendUnaryData<unknown>, log: Logger, rpc: string, error: InferenceError): void {
  logFailedRequest(log, rpc, undefined, error);
  callback(errorStatus(error));
}
