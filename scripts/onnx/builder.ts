/**
 * Small helpers for building ONNX models with the protobufjs-generated `onnx-proto` classes.
 * Everything here is deterministic: the same arguments always serialize to the same bytes.
 */
import { onnx } from 'onnx-proto';

export const IR_VERSION = 8;
export const OPSET = 17;

export const DataType = onnx.TensorProto.DataType;
export type ElemType = onnx.TensorProto.DataType;

/** A dimension: a fixed size, or a symbolic name such as "batch". */
export type Dim = number | string;

/** A FLOAT initializer, stored little-endian in raw_data as ONNX Runtime and the ONNX tools expect. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): onnx.ITensorProto {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(`initializer ${name}: ${data.length} values for dims [${dims.join(', ')}]`);
  }
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  data.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: raw };
}

/** Attribute constructors. */
export const attr = {
  int(name: string, i: number): onnx.IAttributeProto {
    return { name, type: onnx.AttributeProto.AttributeType.INT, i };
  },
  ints(name: string, ints: readonly number[]): onnx.IAttributeProto {
    return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...ints] };
  },
  float(name: string, f: number): onnx.IAttributeProto {
    return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
  },
  string(name: string, s: string): onnx.IAttributeProto {
    return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(s) };
  },
};

/** A node of the default (ai.onnx) domain. */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  name: string,
  attributes: readonly onnx.IAttributeProto[] = [],
): onnx.INodeProto {
  return { opType, input: [...inputs], output: [...outputs], name, attribute: [...attributes] };
}

/** A graph input or output: a tensor of `elemType` whose dims are fixed sizes or symbolic names. */
export function valueInfo(name: string, elemType: ElemType, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface ModelSpec {
  readonly graphName: string;
  readonly docString: string;
  readonly inputs: readonly onnx.IValueInfoProto[];
  readonly outputs: readonly onnx.IValueInfoProto[];
  readonly nodes: readonly onnx.INodeProto[];
  readonly initializers?: readonly onnx.ITensorProto[];
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Assembles a ModelProto (IR 8, opset 17) and serializes it to bytes. */
export function serializeModel(spec: ModelSpec): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'onnx-grpc-server/make-models',
    producerVersion: '1',
    modelVersion: 1,
    docString: spec.docString,
    graph: {
      name: spec.graphName,
      node: [...spec.nodes],
      initializer: [...(spec.initializers ?? [])],
      input: [...spec.inputs],
      output: [...spec.outputs],
    },
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const problem = onnx.ModelProto.verify(model);
  if (problem) throw new Error(`invalid ModelProto for ${spec.graphName}: ${problem}`);
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
