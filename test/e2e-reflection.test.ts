/**
 * Server reflection, as the clients that rely on it see it: every FileDescriptorProto fetched with
 * a grpc-js reflection client and checked the way Go's protodesc checks them (grpcurl and ghz are
 * Go); then grpcurl and ghz themselves, with no .proto files, when ../shared/clients is present.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileDescriptorProto, type IDescriptorProto, type IEnumDescriptorProto, type IFieldDescriptorProto, type IFileDescriptorProto } from 'protobufjs/ext/descriptor';
import { grpcFrame } from '../scripts/fuzz/h2-client';
import { lenField } from '../scripts/fuzz/proto-bytes';
import { LOADER_OPTIONS } from '../src/transport/protos';
import { REFLECTION_PROTO_DIR } from '../src/transport/reflection';
import { rawUnary } from './support/raw-grpc';
import { REPO_ROOT, startTestServer, type TestServer } from './support/server';

const CLIENTS_BIN = path.join(REPO_ROOT, '..', 'shared', 'clients', 'bin');
const INFER_METHOD = 'inference.GRPCInferenceService/ModelInfer';
const SERVICES = [
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
  'inference.GRPCInferenceService',
  'onnx_grpc_server.admin.v1.RolloutAdmin',
];
/** Each served file and its package: the names the .proto files import each other by. */
const FILES: Record<string, string> = {
  'grpc_service.proto': 'inference',
  'model_config.proto': 'inference',
  'health.proto': 'grpc.health.v1',
  'rollout_admin.proto': 'onnx_grpc_server.admin.v1',
  'grpc/reflection/v1/reflection.proto': 'grpc.reflection.v1',
  'grpc/reflection/v1alpha/reflection.proto': 'grpc.reflection.v1alpha',
};
const FEATURES = [0.5, -1, 2, 0, 3.25, -0.75, 1, 4];
const INFER_JSON = { model_name: 'stock_scorer', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, FEATURES.length], contents: { fp32_contents: FEATURES } }] };

// ---- a grpc-js reflection client ----------------------------------------------------------

interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  list_services_response?: { service: { name: string }[] };
  error_response?: { error_code: number; error_message: string };
}

/** One ServerReflectionInfo stream; the server answers its requests in order. */
class ReflectionSession {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<object, ReflectionResponse>;
  private readonly waiting: { resolve: (response: ReflectionResponse) => void; reject: (err: Error) => void }[] = [];

  constructor(port: number, version: 'v1' | 'v1alpha' = 'v1') {
    const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { keepCase: true, arrays: true, oneofs: true, includeDirs: [REFLECTION_PROTO_DIR] });
    type Ctor = new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { grpc: { reflection: Record<typeof version, { ServerReflection: Ctor }> } };
    this.client = new pkg.grpc.reflection[version].ServerReflection(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    // Methods are attached dynamically by grpc-js from the proto.
    const methods = this.client as unknown as Record<string, () => grpc.ClientDuplexStream<object, ReflectionResponse>>;
    this.call = methods.ServerReflectionInfo.call(this.client);
    this.call.on('data', (response: ReflectionResponse) => this.waiting.shift()?.resolve(response));
    this.call.on('error', (err: Error) => this.waiting.splice(0).forEach((w) => w.reject(err)));
  }

  ask(request: object): Promise<ReflectionResponse> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.call.write(request);
    });
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}

interface Served {
  readonly services: string[];
  readonly files: Map<string, IFileDescriptorProto>;
  /** Files asked for by name and not served, and names served twice with different contents. */
  readonly problems: string[];
}

/** Lists the services, then fetches each one's file and, by name, every file those import. */
async function fetchDescriptors(port: number): Promise<Served> {
  const session = new ReflectionSession(port);
  const files = new Map<string, IFileDescriptorProto>();
  const encodings = new Map<string, Buffer>();
  const problems: string[] = [];
  const asked = new Set<string>();
  const take = (response: ReflectionResponse): void => {
    for (const bytes of response.file_descriptor_response?.file_descriptor_proto ?? []) {
      const file = FileDescriptorProto.toObject(FileDescriptorProto.decode(bytes), { arrays: true }) as IFileDescriptorProto;
      const name = file.name ?? '';
      const earlier = encodings.get(name);
      if (earlier !== undefined && !earlier.equals(bytes)) problems.push(`${name} is served twice, with different contents`);
      encodings.set(name, bytes);
      files.set(name, file);
    }
  };
  try {
    const listed = await session.ask({ list_services: '*' });
    const services = (listed.list_services_response?.service ?? []).map((s) => s.name);
    for (const service of services) take(await session.ask({ file_containing_symbol: service }));
    for (let missing = unfetchedImports(files, asked); missing.length > 0; missing = unfetchedImports(files, asked)) {
      for (const name of missing) {
        asked.add(name);
        const response = await session.ask({ file_by_filename: name });
        if (response.error_response) problems.push(`${name} is imported but not served: ${response.error_response.error_message}`);
        take(response);
      }
    }
    return { services, files, problems };
  } finally {
    session.close();
  }
}

function unfetchedImports(files: Map<string, IFileDescriptorProto>, asked: Set<string>): string[] {
  const imports = [...files.values()].flatMap((file) => (file.dependency ?? []) as string[]);
  return [...new Set(imports)].filter((name) => !files.has(name) && !asked.has(name));
}

// ---- the checks of Go's protodesc (google.golang.org/protobuf/reflect/protodesc) ------------

const LABEL_OPTIONAL = 1;
const LABEL_REPEATED = 3;
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;

interface Definition {
  readonly fullName: string;
  readonly file: string;
  readonly message?: IDescriptorProto;
}

/** Go's strs.MapEntryName, written out independently of the server's own. */
function goMapEntryName(field: string): string {
  let name = '';
  let upperNext = true;
  for (const c of field) {
    if (c === '_') upperNext = true;
    else {
      name += upperNext ? c.toUpperCase() : c;
      upperNext = false;
    }
  }
  return `${name}Entry`;
}

/** Every message and enum by its full name (leading dot), with the file that defines it. */
function definitions(files: Map<string, IFileDescriptorProto>, problems: string[]): Map<string, Definition> {
  const all = new Map<string, Definition>();
  const define = (definition: Definition): void => {
    const earlier = all.get(definition.fullName);
    if (earlier) problems.push(`${definition.fullName} is defined in ${earlier.file} and in ${definition.file}`);
    all.set(definition.fullName, definition);
  };
  const walk = (file: string, scope: string, messages: IDescriptorProto[] = [], enums: IEnumDescriptorProto[] = []): void => {
    for (const e of enums) define({ fullName: `${scope}.${e.name}`, file });
    for (const message of messages) {
      const fullName = `${scope}.${message.name}`;
      define({ fullName, file, message });
      walk(file, fullName, message.nestedType, message.enumType);
    }
  };
  for (const [name, file] of files) walk(name, packageScope(file), file.messageType, file.enumType);
  return all;
}

const packageScope = (file: IFileDescriptorProto): string => (file.package ? `.${file.package}` : '');

/** protodesc's lookup: a full name as is, a relative one from the innermost scope outwards. */
function resolve(all: Map<string, Definition>, scope: string, ref: string): Definition | undefined {
  if (ref.startsWith('.')) return all.get(ref);
  for (let at = scope; ; at = at.slice(0, at.lastIndexOf('.'))) {
    const found = all.get(`${at}.${ref}`);
    if (found || at === '') return found;
  }
}

/**
 * What protodesc.NewFiles would refuse in these files, plus type names that are not fully
 * qualified (protoc always writes them so; some clients resolve nothing else).
 */
function descriptorProblems(files: Map<string, IFileDescriptorProto>): string[] {
  const problems: string[] = [];
  const all = definitions(files, problems);
  for (const [name, file] of files) {
    if (file.syntax !== 'proto3') problems.push(`${name}: syntax "${file.syntax ?? ''}", expected "proto3"`);
    const imports = (file.dependency ?? []) as string[];
    for (const dependency of imports) if (!files.has(dependency)) problems.push(`${name}: imports ${dependency}, which is not served`);
    const visible = new Set([name, ...imports]);
    const refer = (where: string, scope: string, ref: string, kind: 'message' | 'enum'): Definition | undefined => {
      if (!ref.startsWith('.')) problems.push(`${where}: type name "${ref}" is not fully qualified`);
      const target = resolve(all, scope, ref);
      if (!target) problems.push(`${where}: "${ref}" does not resolve`);
      else if (!visible.has(target.file)) problems.push(`${where}: "${ref}" is defined in ${target.file}, which ${name} does not import`);
      else if ((target.message ? 'message' : 'enum') !== kind) problems.push(`${where}: "${ref}" is not a ${kind}`);
      return target;
    };
    const checkMessage = (scope: string, message: IDescriptorProto): void => {
      const fullName = `${scope}.${message.name}`;
      for (const field of message.field ?? []) {
        if (field.type !== TYPE_MESSAGE && field.type !== TYPE_ENUM) continue;
        const where = `${fullName}.${field.name}`;
        const target = refer(where, fullName, field.typeName ?? '', field.type === TYPE_MESSAGE ? 'message' : 'enum');
        if (target?.message?.options?.mapEntry) problems.push(...mapProblems(where, fullName, field, target));
      }
      for (const nested of message.nestedType ?? []) checkMessage(fullName, nested);
    };
    for (const message of file.messageType ?? []) checkMessage(packageScope(file), message);
    for (const service of file.service ?? []) {
      for (const method of service.method ?? []) {
        const where = `${packageScope(file)}.${service.name}.${method.name}`;
        refer(`${where} input`, packageScope(file), method.inputType ?? '', 'message');
        refer(`${where} output`, packageScope(file), method.outputType ?? '', 'message');
      }
    }
  }
  return problems;
}

/** protodesc's checkValidMap, for a field whose type is a map entry. */
function mapProblems(where: string, scope: string, field: IFieldDescriptorProto, entry: Definition): string[] {
  const problems: string[] = [];
  const expected = `${scope}.${goMapEntryName(field.name ?? '')}`;
  if (entry.fullName !== expected) problems.push(`${where}: map entry is ${entry.fullName}, Go requires ${expected}`);
  if (field.label !== LABEL_REPEATED) problems.push(`${where}: a map field must be repeated`);
  const message = entry.message ?? {};
  const [key, value, ...more] = message.field ?? [];
  const is = (f: IFieldDescriptorProto | undefined, name: string, number: number) => f?.name === name && f.number === number && f.label === LABEL_OPTIONAL && f.oneofIndex == null;
  if (!is(key, 'key', 1) || !is(value, 'value', 2) || more.length > 0) problems.push(`${where}: ${entry.fullName} must have exactly the fields key = 1 and value = 2, optional`);
  if ((message.nestedType ?? []).length + (message.enumType ?? []).length > 0) problems.push(`${where}: ${entry.fullName} must not declare nested types`);
  return problems;
}

// ---- the Go clients ---------------------------------------------------------------------------

interface ToolRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runTool(tool: string, args: string[]): Promise<ToolRun> {
  return new Promise((resolve) =>
    execFile(path.join(CLIENTS_BIN, tool), args, { timeout: 60_000 }, (err, stdout, stderr) => {
      // A spawn failure has a string code (ENOENT); that is a failure too.
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('e2e: server reflection', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });

  after(async () => {
    await server?.stop();
  });

  describe('descriptors, checked as Go checks them', function () {
    it('lists the inference, rollout admin, health and reflection services', async () => {
      const { services } = await fetchDescriptors(server.port);
      expect([...services].sort()).to.deep.equal(SERVICES);
    });

    it('answers the older v1alpha reflection service alike', async () => {
      const session = new ReflectionSession(server.port, 'v1alpha');
      try {
        const listed = await session.ask({ list_services: '*' });
        expect((listed.list_services_response?.service ?? []).map((s) => s.name).sort()).to.deep.equal(SERVICES);
        const file = await session.ask({ file_by_filename: 'grpc_service.proto' });
        expect(file.file_descriptor_response?.file_descriptor_proto).to.have.length(2);
      } finally {
        session.close();
      }
    });

    it('serves each .proto file under its own name and package, every import included, all well-formed', async () => {
      const { files, problems } = await fetchDescriptors(server.port);
      expect(problems).to.deep.equal([]);
      expect(Object.fromEntries([...files].map(([name, file]) => [name, file.package]))).to.deep.equal(FILES);
      expect(files.get('grpc_service.proto')?.dependency).to.deep.equal(['model_config.proto']);
      expect(descriptorProblems(files)).to.deep.equal([]);
    });

    it('describes fields as protoc does: maps by a nested <Name>Entry with map_entry set, json_name in camel case', async () => {
      const { files } = await fetchDescriptors(server.port);
      const request = files.get('grpc_service.proto')?.messageType?.find((m) => m.name === 'ModelInferRequest');
      expect(request?.field?.find((f) => f.name === 'parameters')).to.include({ label: LABEL_REPEATED, type: TYPE_MESSAGE, typeName: '.inference.ModelInferRequest.ParametersEntry' });
      expect(request?.field?.find((f) => f.name === 'raw_input_contents')?.jsonName).to.equal('rawInputContents');
      expect(request?.nestedType?.find((m) => m.name === 'ParametersEntry')?.options).to.include({ mapEntry: true });
    });

    // Why the server builds its own descriptors: what @grpc/reflection serves from proto-loader's
    // package definition fails the same checks. Should this start passing, the fix-up may go.
    it('finds @grpc/reflection unfixed, on proto-loader descriptors, refused by these checks', async () => {
      const stock = new grpc.Server();
      new ReflectionService(protoLoader.loadSync(['grpc_service.proto', 'health.proto'], LOADER_OPTIONS)).addToServer(stock);
      const port = await new Promise<number>((resolve, reject) =>
        stock.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
      );
      try {
        const { files } = await fetchDescriptors(port);
        expect([...files.keys()].sort()).to.deep.equal(['grpc_health_v1.proto', 'inference.proto']);
        const problems = descriptorProblems(files);
        expect(problems).to.include('.inference.ModelInferRequest.parameters: map entry is .inference.ModelInferRequest.Parameters, Go requires .inference.ModelInferRequest.ParametersEntry');
        expect(problems).to.include('.inference.ModelInferRequest.parameters: type name "Parameters" is not fully qualified');
      } finally {
        stock.forceShutdown();
      }
    });

    it('answers unknown symbols and files with NOT_FOUND, and survives bytes that are no request', async () => {
      const session = new ReflectionSession(server.port);
      try {
        const symbol = await session.ask({ file_containing_symbol: 'inference.NoSuchMessage' });
        expect(symbol.error_response?.error_code).to.equal(grpc.status.NOT_FOUND);
        const file = await session.ask({ file_by_filename: '../../etc/passwd' });
        expect(file.error_response?.error_code).to.equal(grpc.status.NOT_FOUND);
      } finally {
        session.close();
      }
      const garbage = await rawUnary(server.port, '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', Buffer.from([0xff, 0xff, 0xff, 0xff]));
      expect(garbage.status).to.not.equal(grpc.status.OK);
      expect((await fetchDescriptors(server.port)).services).to.have.length(SERVICES.length);
    });
  });

  describe('a client that takes no answers', function () {
    it('has its requests left unread once the answers back up, so HTTP/2 flow control holds it back', async () => {
      const session = http2.connect(`http://127.0.0.1:${server.port}`);
      const stream = session.request({ ':method': 'POST', ':path': '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', 'content-type': 'application/grpc', te: 'trailers' });
      stream.pause(); // the answers are never read
      const request = grpcFrame(lenField(4, Buffer.from('inference.GRPCInferenceService')));
      const chunk = Buffer.concat(new Array<Buffer>(1000).fill(request));
      let accepted = 0;
      try {
        // Until a write is held back for a second. Read without bound, all 20 MB went in, and the
        // server buffered an answer for each (3,000,000 requests: 900 MB).
        while (accepted < 20 * 2 ** 20) {
          accepted += chunk.length;
          if (stream.write(chunk)) continue;
          const drained = await Promise.race([once(stream, 'drain').then(() => true), sleep(1000).then(() => false)]);
          if (!drained) break;
        }
      } finally {
        stream.destroy();
        session.close();
      }
      expect(accepted, `${accepted} bytes of requests accepted`).to.be.below(4 * 2 ** 20);
      expect((await fetchDescriptors(server.port)).services).to.have.length(SERVICES.length);
    });
  });

  describe('Go clients by reflection (grpcurl, ghz), no .proto files', function () {
    const address = (): string => `127.0.0.1:${server.port}`;

    before(function () {
      if (!fs.existsSync(CLIENTS_BIN)) {
        // mocha's skip() takes no reason, so say why before skipping.
        console.warn(`    (skipping: the Go clients are not at ${CLIENTS_BIN}; clone with shared/ beside the repo)`);
        this.skip();
      }
    });

    it('grpcurl list names the services', async () => {
      const run = await runTool('grpcurl', ['-plaintext', address(), 'list']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout.trim().split('\n').sort()).to.deep.equal(SERVICES);
    });

    it('grpcurl describes ModelInferRequest, its map fields included', async () => {
      const run = await runTool('grpcurl', ['-plaintext', address(), 'describe', 'inference.ModelInferRequest']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.include('map<string, .inference.InferParameter> parameters = 4;');
      expect(run.stdout).to.include('repeated .inference.ModelInferRequest.InferInputTensor inputs = 5;');
    });

    it('grpcurl describes every service, with the message types of model_config.proto', async () => {
      const run = await runTool('grpcurl', ['-plaintext', address(), 'describe', 'inference.ModelConfig']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.include('map<string, .inference.ModelParameter> parameters = 14;');
      const all = await runTool('grpcurl', ['-plaintext', address(), 'describe']);
      expect(all.code, all.stderr).to.equal(0);
      for (const service of SERVICES) expect(all.stdout).to.include(`${service} is a service:`);
    });

    it('grpcurl calls ModelInfer from JSON, and gets what a grpc-js client gets', async () => {
      const run = await runTool('grpcurl', ['-plaintext', '-d', JSON.stringify(INFER_JSON), address(), INFER_METHOD]);
      expect(run.code, run.stderr).to.equal(0);
      const answer = JSON.parse(run.stdout) as { modelName: string; outputs: { name: string }[]; rawOutputContents: string[] };
      const direct = await server.client.unary<{ outputs: { name: string }[]; raw_output_contents: Buffer[] }>('ModelInfer', INFER_JSON);
      expect(answer.modelName).to.equal('stock_scorer');
      expect(answer.outputs.map((o) => o.name)).to.deep.equal(direct.outputs.map((o) => o.name));
      expect(answer.rawOutputContents).to.deep.equal(direct.raw_output_contents.map((b) => b.toString('base64')));
    });

    it('grpcurl calls grpc.health.v1.Health/Check', async () => {
      const run = await runTool('grpcurl', ['-plaintext', '-d', '{"service":"inference.GRPCInferenceService"}', address(), 'grpc.health.v1.Health/Check']);
      expect(run.code, run.stderr).to.equal(0);
      expect(JSON.parse(run.stdout)).to.deep.equal({ status: 'SERVING' });
    });

    it('ghz runs a ModelInfer load with no errors', async () => {
      const total = 50;
      const run = await runTool('ghz', ['--insecure', '--call', INFER_METHOD, '-d', JSON.stringify(INFER_JSON), '-n', String(total), '-c', '4', '-O', 'json', address()]);
      expect(run.code, run.stderr).to.equal(0);
      const report = JSON.parse(run.stdout) as { count: number; statusCodeDistribution: Record<string, number>; errorDistribution?: Record<string, number> };
      expect(report.errorDistribution ?? {}).to.deep.equal({});
      expect(report.statusCodeDistribution).to.deep.equal({ OK: total });
      expect(report.count).to.equal(total);
    });
  });
});

describe('e2e: server reflection turned off (GRPC_REFLECTION=false)', function () {
  this.timeout(60_000);

  it('answers reflection with UNIMPLEMENTED, and inference as before', async () => {
    const server = await startTestServer({ GRPC_REFLECTION: 'false' });
    const session = new ReflectionSession(server.port);
    try {
      let caught: grpc.ServiceError | undefined;
      await session.ask({ list_services: '*' }).catch((err: grpc.ServiceError) => {
        caught = err;
      });
      expect(caught?.code).to.equal(grpc.status.UNIMPLEMENTED);
      expect(await server.client.unary('ServerLive', {})).to.deep.equal({ live: true });
    } finally {
      session.close();
      await server.stop();
    }
  });
});
