/** One fully decoded ModelInfer before a server is measured: it must answer what the bare server mimics. */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, INFER_PATH, methodDefinition } from './protocol';

export interface ProbeResult {
  /** Serialized ModelInferResponse size. */
  readonly responseBytes: number;
  readonly outputs: readonly string[];
}

interface DecodedResponse {
  readonly outputs?: readonly { readonly name?: string; readonly datatype?: string; readonly shape?: readonly string[] }[];
  readonly raw_output_contents?: readonly Uint8Array[];
}

export function probe(address: string, request: Buffer): Promise<ProbeResult> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const method = methodDefinition('ModelInfer');
  return new Promise<ProbeResult>((resolve, reject) => {
    client.makeUnaryRequest<Buffer, Buffer>(INFER_PATH, (b) => b, (b) => b, request, { deadline: Date.now() + 10_000 }, (err, bytes) => {
      client.close();
      if (err || !bytes) return reject(new Error(`probe ModelInfer failed: ${err?.code} ${err?.details}`));
      const response = method.responseDeserialize(bytes) as DecodedResponse;
      const outputs = (response.outputs ?? []).map((o, i) => `${o.name}:${o.datatype}[${(o.shape ?? []).join(',')}]=${response.raw_output_contents?.[i]?.byteLength ?? 0}B`);
      resolve({ responseBytes: bytes.length, outputs });
    });
  });
}
