/**
 * Wire-contract test: our proto/ files must describe the same messages, enums
 * and services (names, field numbers, types, labels) as the reference
 * contracts in shared/spec (Triton's grpc_service/model_config/health protos
 * and KServe's grpc_predict_v2.proto, where Triton wins on any conflict).
 */
import * as fs from 'fs';
import * as path from 'path';
import { expect } from 'chai';
import * as protobuf from 'protobufjs';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';
import { LOADER_OPTIONS } from '../src/transport/protos';

// Compiled to dist/test/, so the repository root is two levels up.
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const PROTO_DIR = path.join(REPO_ROOT, 'proto');
const SPEC_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'spec');

const TRITON_FILES = ['grpc_service.proto', 'model_config.proto', 'health.proto'] as const;
const KSERVE_FILE = path.join('kserve', 'grpc_predict_v2.proto');

/** Loads proto files into a fresh, fully resolved root (imports resolve next to the importing file). */
function loadRoot(files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

/** Every message and enum nested anywhere under `ns`, keyed by fully-qualified name. */
function collectTypes(ns: protobuf.NamespaceBase, out = new Map<string, protobuf.Type | protobuf.Enum>()): Map<string, protobuf.Type | protobuf.Enum> {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type || obj instanceof protobuf.Enum) out.set(obj.fullName, obj);
    if (obj instanceof protobuf.Namespace) collectTypes(obj, out); // Type extends Namespace too
  }
  return out;
}

function collectServices(ns: protobuf.NamespaceBase, out = new Map<string, protobuf.Service>()): Map<string, protobuf.Service> {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Service) out.set(obj.fullName, obj);
    if (obj instanceof protobuf.Namespace) collectServices(obj, out);
  }
  return out;
}

/** Keeps only the definitions that were declared in `file` (imports are loaded into the same root). */
function declaredIn<T extends protobuf.ReflectionObject>(all: Map<string, T>, file: string): Map<string, T> {
  const wanted = path.resolve(file);
  const out = new Map<string, T>();
  for (const [name, obj] of all) {
    // Nested definitions inherit their file from the enclosing message.
    let owner: protobuf.ReflectionObject | null = obj;
    while (owner && !owner.filename) owner = owner.parent;
    if (owner?.filename && path.resolve(owner.filename) === wanted) out.set(name, obj);
  }
  return out;
}

/** Everything about a field that affects the wire format or the generated API. */
function fieldSignature(field: protobuf.Field): string {
  const type = field.resolvedType ? field.resolvedType.fullName : field.type;
  const label = field instanceof protobuf.MapField ? `map<${field.keyType}, ${type}>` : field.repeated ? `repeated ${type}` : type;
  const oneof = field.partOf ? ` (oneof ${field.partOf.name})` : '';
  return `${label} ${field.name} = ${field.id}${oneof}`;
}

/** A one-line summary per field / enum value, so a mismatch reports exactly what differs. */
function describeType(t: protobuf.Type | protobuf.Enum): string[] {
  if (t instanceof protobuf.Enum) {
    return Object.entries(t.values)
      .map(([name, value]) => `${name} = ${value}`)
      .sort();
  }
  const fields = t.fieldsArray.map(fieldSignature);
  const oneofs = t.oneofsArray.map((o) => `oneof ${o.name} { ${[...o.oneof].sort().join(', ')} }`);
  return [...fields, ...oneofs].sort();
}

function methodSignature(m: protobuf.Method): string {
  const req = m.resolvedRequestType ? m.resolvedRequestType.fullName : m.requestType;
  const res = m.resolvedResponseType ? m.resolvedResponseType.fullName : m.responseType;
  return `rpc ${m.name}(${m.requestStream ? 'stream ' : ''}${req}) returns (${m.responseStream ? 'stream ' : ''}${res})`;
}

/** Differences between a reference message/enum set and ours: missing definitions, kind changes, field/value changes. */
function diffTypes(reference: Map<string, protobuf.Type | protobuf.Enum>, ours: Map<string, protobuf.Type | protobuf.Enum>): string[] {
  const problems: string[] = [];
  for (const [name, ref] of reference) {
    const mine = ours.get(name);
    if (!mine) {
      problems.push(`${name}: missing`);
      continue;
    }
    if ((ref instanceof protobuf.Enum) !== (mine instanceof protobuf.Enum)) {
      problems.push(`${name}: reference is ${ref.constructor.name}, ours is ${mine.constructor.name}`);
      continue;
    }
    const want = describeType(ref);
    const got = describeType(mine);
    for (const line of want) if (!got.includes(line)) problems.push(`${name}: missing or different: ${line}`);
    for (const line of got) if (!want.includes(line)) problems.push(`${name}: not in reference: ${line}`);
  }
  return problems;
}

/** Every reference method must exist in ours with the same types and streaming flags (extra methods are allowed). */
function diffServices(reference: Map<string, protobuf.Service>, ours: Map<string, protobuf.Service>): string[] {
  const problems: string[] = [];
  for (const [name, ref] of reference) {
    const mine = ours.get(name);
    if (!mine) {
      problems.push(`${name}: missing service`);
      continue;
    }
    for (const m of ref.methodsArray) {
      const theirs = methodSignature(m);
      const ourMethod = mine.methods[m.name];
      if (!ourMethod) problems.push(`${name}: missing ${theirs}`);
      else if (methodSignature(ourMethod) !== theirs) problems.push(`${name}: expected ${theirs}, got ${methodSignature(ourMethod)}`);
    }
  }
  return problems;
}

describe('proto/ wire contract against the reference in shared/spec', function () {
  let ourRoot: protobuf.Root;
  let ourTypes: Map<string, protobuf.Type | protobuf.Enum>;
  let ourServices: Map<string, protobuf.Service>;
  let tritonRoot: protobuf.Root;

  before(function () {
    if (!fs.existsSync(SPEC_DIR)) {
      // mocha's skip() takes no reason, so say why before skipping.
      console.warn(`    (skipping: reference contracts not found at ${SPEC_DIR}; clone with shared/ beside the repo)`);
      this.skip();
    }
    ourRoot = loadRoot(TRITON_FILES.map((f) => path.join(PROTO_DIR, f)));
    ourTypes = collectTypes(ourRoot);
    ourServices = collectServices(ourRoot);
    tritonRoot = loadRoot(TRITON_FILES.map((f) => path.join(SPEC_DIR, 'triton', f)));
  });

  it('declares proto3 syntax and the same package as each Triton reference file', function () {
    for (const file of TRITON_FILES) {
      const header = (text: string): string[] => [
        /^\s*syntax\s*=\s*"([^"]+)"\s*;/m.exec(text)?.[1] ?? '(no syntax)',
        /^\s*package\s+([\w.]+)\s*;/m.exec(text)?.[1] ?? '(no package)',
        ...[...text.matchAll(/^\s*import\s+"([^"]+)"\s*;/gm)].map((m) => `import ${m[1]}`),
      ];
      const ref = header(fs.readFileSync(path.join(SPEC_DIR, 'triton', file), 'utf8'));
      const mine = header(fs.readFileSync(path.join(PROTO_DIR, file), 'utf8'));
      expect(mine, file).to.deep.equal(ref);
    }
  });

  for (const file of TRITON_FILES) {
    it(`defines every message and enum of triton/${file} with the same names, field numbers, types and labels`, function () {
      const reference = declaredIn(collectTypes(tritonRoot), path.join(SPEC_DIR, 'triton', file));
      expect(reference.size, `no definitions found in triton/${file}`).to.be.greaterThan(0);
      expect(diffTypes(reference, ourTypes)).to.deep.equal([]);
    });
  }

  it('defines no message or enum that Triton does not, within the Triton packages', function () {
    const reference = collectTypes(tritonRoot);
    const extra = [...ourTypes.keys()].filter((name) => !reference.has(name));
    expect(extra).to.deep.equal([]);
  });

  it("gives every Triton GRPCInferenceService and Health method the same request, response and streaming flags", function () {
    const reference = collectServices(tritonRoot);
    expect([...reference.keys()].sort()).to.deep.equal(['.grpc.health.v1.Health', '.inference.GRPCInferenceService']);
    expect(diffServices(reference, ourServices)).to.deep.equal([]);
  });

  it('offers exactly the GRPCInferenceService methods Triton does, no more', function () {
    const ref = tritonRoot.lookupService('inference.GRPCInferenceService');
    const mine = ourRoot.lookupService('inference.GRPCInferenceService');
    expect(Object.keys(mine.methods).sort()).to.deep.equal(Object.keys(ref.methods).sort());
  });

  it('keeps the standard Health.Watch stream alongside Check', function () {
    const watch = ourRoot.lookupService('grpc.health.v1.Health').methods['Watch'];
    expect(watch, 'Health.Watch').to.not.equal(undefined);
    expect(methodSignature(watch)).to.equal(
      'rpc Watch(.grpc.health.v1.HealthCheckRequest) returns (stream .grpc.health.v1.HealthCheckResponse)',
    );
  });

  it("matches every KServe v2 message and method too, except where Triton's definition differs", function () {
    const kserveRoot = loadRoot([path.join(SPEC_DIR, KSERVE_FILE)]);
    const kserveTypes = collectTypes(kserveRoot);
    const tritonTypes = collectTypes(tritonRoot);

    // Triton wins: a KServe definition Triton redefines (e.g. InferParameter,
    // which Triton extends with double/uint64) is checked against Triton's
    // version by the tests above, so only KServe-only or identical ones remain.
    const kserveOnlyOrSame = new Map<string, protobuf.Type | protobuf.Enum>();
    const overriddenByTriton: string[] = [];
    for (const [name, def] of kserveTypes) {
      const triton = tritonTypes.get(name);
      if (triton && JSON.stringify(describeType(triton)) !== JSON.stringify(describeType(def))) overriddenByTriton.push(name);
      else kserveOnlyOrSame.set(name, def);
    }
    expect(kserveOnlyOrSame.size).to.be.greaterThan(0);
    expect(diffTypes(kserveOnlyOrSame, ourTypes)).to.deep.equal([]);

    // Where Triton overrides a KServe message, ours must still keep every
    // KServe field whose number Triton has not reassigned.
    const problems: string[] = [];
    for (const name of overriddenByTriton) {
      const kserve = kserveTypes.get(name);
      const triton = tritonTypes.get(name);
      const mine = ourTypes.get(name);
      if (!(kserve instanceof protobuf.Type) || !(triton instanceof protobuf.Type) || !(mine instanceof protobuf.Type)) continue;
      for (const f of kserve.fieldsArray) {
        const tritonField = triton.fieldsById[f.id];
        if (tritonField && fieldSignature(tritonField) !== fieldSignature(f)) continue; // Triton wins
        const ourField = mine.fieldsById[f.id];
        if (!ourField || fieldSignature(ourField) !== fieldSignature(f)) problems.push(`${name}: missing or different: ${fieldSignature(f)}`);
      }
    }

    const tritonServices = collectServices(tritonRoot);
    for (const [name, svc] of collectServices(kserveRoot)) {
      const mine = ourServices.get(name);
      for (const m of svc.methodsArray) {
        const tritonMethod = tritonServices.get(name)?.methods[m.name];
        if (tritonMethod && methodSignature(tritonMethod) !== methodSignature(m)) continue; // Triton wins
        const ourMethod = mine?.methods[m.name];
        if (!ourMethod || methodSignature(ourMethod) !== methodSignature(m)) problems.push(`${name}: missing or different: ${methodSignature(m)}`);
      }
    }
    expect(problems).to.deep.equal([]);
  });
});

describe('proto/grpc_service.proto with @grpc/proto-loader', function () {
  it('loads and exposes inference.GRPCInferenceService as a service definition', function () {
    const definition = protoLoader.loadSync(path.join(PROTO_DIR, 'grpc_service.proto'), LOADER_OPTIONS);
    const service = definition['inference.GRPCInferenceService'];
    expect(service, 'inference.GRPCInferenceService').to.be.an('object');
    // A service definition maps method names to method definitions carrying a path;
    // a message type definition instead has `format` and `type`.
    expect(service).to.not.have.property('format');
    const infer = (service as protoLoader.ServiceDefinition)['ModelInfer'];
    expect(infer.path).to.equal('/inference.GRPCInferenceService/ModelInfer');
    expect(infer.requestStream).to.equal(false);
    const stream = (service as protoLoader.ServiceDefinition)['ModelStreamInfer'];
    expect([stream.requestStream, stream.responseStream]).to.deep.equal([true, true]);

    const pkg = grpc.loadPackageDefinition(definition);
    const inference = pkg['inference'] as grpc.GrpcObject;
    const ctor = inference['GRPCInferenceService'] as grpc.ServiceClientConstructor;
    expect(ctor).to.be.a('function');
    expect(ctor.service).to.have.property('ModelConfig');
  });
});
