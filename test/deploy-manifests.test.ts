/**
 * The manifests under deploy/ against the server they deploy: every file parses; probes, ports,
 * environment and drain timing agree with src/config/schema.ts (read through buildSchema, the same
 * code the server runs, with each container's own env and args); the GPU overlay asks for a GPU;
 * the monitor scrapes the metrics port; the KServe runtime serves onnx over grpc-v2 on the port its
 * settings give. Kustomize overlays are rendered here (resources, strategic-merge patches by name,
 * images) so the GPU variant is checked as it would be applied.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { buildSchema } from '../src/config/schema';
import { INFERENCE_SERVICE } from '../src/transport/server';

// Compiled to dist/test/, so the repository root is two levels up.
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');

/** Kubernetes' terminationGracePeriodSeconds when a pod spec leaves it out. */
const K8S_DEFAULT_GRACE_SECONDS = 30;

/**
 * Variables a manifest may set that the server's configuration does not read but a library does,
 * each with the file that must still contain its name (so an upgrade that drops it fails here).
 */
const LIBRARY_ENV: ReadonlyMap<string, { readonly reader: string; readonly dir: string }> = new Map([
  ['ORT_DISABLE_TELEMETRY', {
    reader: 'onnxruntime (turns off its 1DS telemetry)',
    dir: path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', process.platform, process.arch),
  }],
]);

// ---- Kubernetes shapes, as far as these tests read them ----

interface EnvVar { name: string; value?: string }
interface GrpcAction { port: number; service?: string }
interface Probe { grpc?: GrpcAction; httpGet?: unknown; tcpSocket?: unknown; exec?: unknown }
interface ContainerPort { name?: string; containerPort: number }
interface Resources { requests?: Record<string, string | number>; limits?: Record<string, string | number> }
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: Resources;
  securityContext?: { runAsUser?: number; readOnlyRootFilesystem?: boolean };
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsUser?: number };
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
}
interface Deployment extends K8sObject { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }
interface ServicePort { name: string; port: number; targetPort?: number | string; appProtocol?: string }
interface Service extends K8sObject { spec: { selector: Record<string, string>; ports: ServicePort[]; clusterIP?: string } }
interface MonitorEndpoint { port?: string; path?: string }
interface Monitor extends K8sObject {
  spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints?: MonitorEndpoint[]; endpoints?: MonitorEndpoint[] };
}
interface ServingRuntime extends K8sObject {
  spec: {
    annotations?: Record<string, string>;
    supportedModelFormats: Array<{ name: string; version?: string }>;
    protocolVersions: string[];
    containers: Container[];
  };
}
interface InferenceService extends K8sObject {
  spec: { predictor: { terminationGracePeriodSeconds?: number; model: { runtime?: string; protocolVersion?: string; modelFormat: { name: string } } } };
}
interface Kustomization { resources?: string[]; patches?: Array<{ path?: string }>; images?: Array<{ name: string; newName?: string; newTag?: string }> }

// ---- Reading deploy/ ----

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  }).sort();
}

/** Every document of a (multi-document) YAML file; throws on a syntax error, skips empty documents. */
function readDocs(file: string): unknown[] {
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(docs)) return []; // an empty stream
  return docs.flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path.relative(REPO_ROOT, file)}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

const isKustomization = (file: string): boolean => path.basename(file) === 'kustomization.yaml';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const named = (value: unknown): value is { name: string } => isPlainObject(value) && typeof value.name === 'string';

/** Strategic merge as kustomize does it for these manifests: maps deep-merge, lists of named items merge by name. */
function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(patch)) out[key] = key in base ? strategicMerge(base[key], value) : value;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && base.every(named) && patch.every(named)) {
    const out = base.map((item) => {
      const over = patch.find((p) => p.name === item.name);
      return over === undefined ? item : strategicMerge(item, over);
    });
    return [...out, ...patch.filter((p) => !base.some((item) => item.name === p.name))];
  }
  return patch;
}

function retagImage(image: string, rules: NonNullable<Kustomization['images']>): string {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const [name, tag] = colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
  const rule = rules.find((r) => r.name === name);
  if (rule === undefined) return image;
  const newTag = rule.newTag ?? tag;
  return `${rule.newName ?? name}${newTag === undefined ? '' : `:${newTag}`}`;
}

/** The objects `kubectl kustomize dir` would print, for the features these kustomizations use. */
function renderKustomization(dir: string): K8sObject[] {
  const kustomization = readDocs(path.join(dir, 'kustomization.yaml'))[0] as Kustomization;
  let objects = (kustomization.resources ?? []).flatMap((resource) => {
    const target = path.resolve(dir, resource);
    return fs.statSync(target).isDirectory() ? renderKustomization(target) : (readDocs(target) as K8sObject[]);
  });
  for (const { path: patchPath } of kustomization.patches ?? []) {
    const patch = readDocs(path.resolve(dir, patchPath!))[0] as K8sObject;
    const targets = objects.filter((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
    expect(targets, `patch ${patchPath} in ${dir} matches one object`).to.have.length(1);
    objects = objects.map((o) => (o === targets[0] ? (strategicMerge(o, patch) as K8sObject) : o));
  }
  const rules = kustomization.images ?? [];
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    const pod = (o as Deployment).spec.template.spec;
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) if (c.image !== undefined) c.image = retagImage(c.image, rules);
  }
  return objects;
}

// Found by name at load; parsed inside the tests, so a broken file fails a test instead of the load.
const ALL_FILES = yamlFiles(DEPLOY_DIR);
const KUSTOMIZE_DIRS = ALL_FILES.filter(isKustomization).map((f) => path.dirname(f));
/** deploy/-relative, with forward slashes: 'k8s/base' (CPU), 'k8s/gpu'. */
const variantName = (dir: string): string => path.relative(DEPLOY_DIR, dir).split(path.sep).join('/');

const memo = new Map<string, unknown>();
function once<T>(key: string, make: () => T): T {
  if (!memo.has(key)) memo.set(key, make());
  return memo.get(key) as T;
}
/** A kustomization's objects as kubectl kustomize would print them. */
const rendered = (dir: string): K8sObject[] => once(`render:${dir}`, () => renderKustomization(dir));
/** Every object of every file, patches included: what the env-name and args checks walk over. */
const allDocs = (): Array<{ file: string; doc: unknown }> =>
  once('all', () => ALL_FILES.flatMap((file) => readDocs(file).map((doc) => ({ file: path.relative(REPO_ROOT, file), doc }))));
/** Plain manifests outside any kustomization (deploy/kserve). */
const standalone = (): K8sObject[] => once('standalone', () => ALL_FILES
  .filter((f) => !KUSTOMIZE_DIRS.some((dir) => f.startsWith(dir + path.sep)))
  .flatMap((f) => readDocs(f) as K8sObject[]));

const ofKind = <T extends K8sObject>(objects: readonly K8sObject[], kind: string): T[] => objects.filter((o) => o.kind === kind) as T[];

// ---- The server's configuration ----

const DEFAULTS = buildSchema({ env: {}, args: [] });

interface SchemaEntry { env?: string; arg?: string; _cvtProperties?: Record<string, SchemaEntry> }

function schemaEntries(properties: Record<string, SchemaEntry>): SchemaEntry[] {
  return Object.values(properties).flatMap((entry) => (entry._cvtProperties ? schemaEntries(entry._cvtProperties) : [entry]));
}
const SCHEMA = schemaEntries((DEFAULTS.getSchema() as unknown as { _cvtProperties: Record<string, SchemaEntry> })._cvtProperties);
const SCHEMA_ENV = new Set(SCHEMA.flatMap((e) => (e.env ? [e.env] : [])));
const SCHEMA_ARGS = new Set(SCHEMA.flatMap((e) => (e.arg ? [e.arg] : [])));

interface Effective { grpcPort: number; metricsPort: number; delay: number; grace: number; repository: string; providers: string[] }

/** The settings a container starts with: its env and args through the server's own schema, validated as the server would. */
function effectiveConfig(container: Container): Effective {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  const config = buildSchema({ env, args: [...(container.args ?? [])] });
  config.validate({ allowed: 'strict' });
  return {
    grpcPort: config.get('grpc.port'),
    metricsPort: config.get('metrics.port'),
    delay: config.get('shutdown.delay_seconds'),
    grace: config.get('shutdown.grace_seconds'),
    repository: config.get('model_repository'),
    providers: config.get('runtime.execution_providers') as string[],
  };
}

/** The container running the server: the one with a port named grpc (or h2c, KServe's name). */
function serverContainer(pod: { containers: Container[] }): Container {
  const found = pod.containers.filter((c) => (c.ports ?? []).some((p) => p.name === 'grpc' || p.name === 'h2c'));
  expect(found, 'exactly one container with a grpc port').to.have.length(1);
  return found[0]!;
}

function portNamed(container: Container, name: string): ContainerPort {
  const port = (container.ports ?? []).find((p) => p.name === name);
  if (port === undefined) throw new Error(`container '${container.name}' has no port named ${name}`);
  return port;
}

function expectGrpcProbe(probe: Probe | undefined, what: string, port: number, service: string): void {
  expect(probe, `${what} is set`).to.not.equal(undefined);
  expect(probe!.grpc, `${what} uses the kubelet's gRPC probe`).to.not.equal(undefined);
  expect(probe!.grpc!.port, `${what} port`).to.equal(port);
  expect(probe!.grpc!.service ?? '', `${what} service`).to.equal(service);
}

/** Seconds a preStop hook holds the container before SIGTERM reaches the server. */
function preStopSeconds(container: Container): number {
  const hook = container.lifecycle?.preStop;
  if (hook === undefined) return 0;
  if (hook.sleep) return hook.sleep.seconds;
  const sleep = /\bsleep\s+(\d+)/.exec((hook.exec?.command ?? []).join(' '));
  if (sleep) return Number(sleep[1]);
  throw new Error(`container '${container.name}': preStop hook of unknown length`);
}

/** Every `env` list anywhere in a document (pod specs, patches, ServingRuntimes, InferenceService models). */
function envNames(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) envNames(item, out);
  else if (isPlainObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'env' && Array.isArray(value)) out.push(...value.filter(named).map((e) => e.name));
      else envNames(value, out);
    }
  }
  return out;
}

/** Every container anywhere in a document: Deployment pod templates, patches and ServingRuntimes alike. */
function containersIn(node: unknown, out: Container[] = []): Container[] {
  if (Array.isArray(node)) for (const item of node) containersIn(item, out);
  else if (isPlainObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) out.push(...(value as Container[]));
      containersIn(value, out);
    }
  }
  return out;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

// ---- The tests ----

describe('deploy/ manifests', () => {
  it('has manifests to check: the CPU base, the GPU overlay and the KServe runtime', () => {
    expect(KUSTOMIZE_DIRS.map(variantName)).to.include.members(['k8s/base', 'k8s/gpu']);
    expect(ofKind(standalone(), 'ClusterServingRuntime')).to.have.length.greaterThan(0);
  });

  it('every YAML file parses, every document in it is a Kubernetes object or a kustomization', () => {
    for (const file of ALL_FILES) {
      const docs = readDocs(file);
      expect(docs, path.relative(REPO_ROOT, file)).to.have.length.greaterThan(0);
      for (const doc of docs) {
        expect(isPlainObject(doc), `${file}: a mapping`).to.equal(true);
        const o = doc as Partial<K8sObject>;
        expect(o.apiVersion, `${file}: apiVersion`).to.be.a('string');
        expect(o.kind, `${file}: kind`).to.be.a('string');
        if (!isKustomization(file)) expect(o.metadata?.name, `${file}: metadata.name`).to.be.a('string');
      }
    }
  });

  it('each kustomization names files that exist, and every YAML file beside it is named', () => {
    for (const dir of KUSTOMIZE_DIRS) {
      const k = readDocs(path.join(dir, 'kustomization.yaml'))[0] as Kustomization;
      const named = [...(k.resources ?? []), ...(k.patches ?? []).map((p) => p.path!)];
      for (const entry of named) expect(fs.existsSync(path.resolve(dir, entry)), `${dir}: ${entry} exists`).to.equal(true);
      const beside = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
      expect(named, `${dir}: files not in kustomization.yaml`).to.include.members(beside);
    }
  });

  it('every environment variable a manifest sets is a server setting (or a known library variable still read)', () => {
    for (const { file, doc } of allDocs()) {
      for (const name of envNames(doc)) {
        if (LIBRARY_ENV.has(name)) continue;
        expect(SCHEMA_ENV, `${file}: env ${name} is not in src/config/schema.ts`).to.include(name);
      }
    }
    // Each library variable must still appear in the library that reads it.
    for (const [name, { reader, dir }] of LIBRARY_ENV) {
      const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
      const found = files.some((f) => fs.statSync(f).isFile() && fs.readFileSync(f).includes(name));
      expect(found, `${name} is no longer read by ${reader}`).to.equal(true);
    }
  });

  it('every container flag is a server flag, and a container with args also sets command (the images use CMD)', () => {
    for (const { file, doc } of allDocs()) {
      for (const c of containersIn(doc)) {
        if (c.args === undefined) continue;
        expect(c.command, `${file}: container '${c.name}' sets args without command`).to.be.an('array');
        if (c.command![0] !== 'node') continue; // not the server (e.g. an init container's tool)
        for (const arg of c.args) {
          const flag = /^--([^=]+)/.exec(arg)?.[1];
          if (flag !== undefined) expect(SCHEMA_ARGS, `${file}: --${flag}`).to.include(flag);
        }
      }
    }
  });

  for (const dir of KUSTOMIZE_DIRS) {
    describe(`kustomization ${variantName(dir)}`, () => {
      let objects: K8sObject[] = [];
      let deployments: Deployment[] = [];
      before(() => {
        objects = rendered(dir);
        deployments = ofKind<Deployment>(objects, 'Deployment');
      });

      it('has one server Deployment whose env and args form a valid configuration', () => {
        expect(deployments).to.have.length(1);
        expect(() => effectiveConfig(serverContainer(deployments[0]!.spec.template.spec))).to.not.throw();
      });

      it(`probes: startup and liveness on "" and readiness on ${INFERENCE_SERVICE}, by gRPC on the server's port`, () => {
        const server = serverContainer(deployments[0]!.spec.template.spec);
        const { grpcPort } = effectiveConfig(server);
        expect(grpcPort, "the manifests use the server's default gRPC port").to.equal(DEFAULTS.get('grpc.port'));
        expectGrpcProbe(server.startupProbe, 'startupProbe', grpcPort, '');
        expectGrpcProbe(server.livenessProbe, 'livenessProbe', grpcPort, '');
        expectGrpcProbe(server.readinessProbe, 'readinessProbe', grpcPort, INFERENCE_SERVICE);
      });

      it("the container's grpc and metrics ports are the server's", () => {
        const server = serverContainer(deployments[0]!.spec.template.spec);
        const config = effectiveConfig(server);
        expect(config.metricsPort, "the manifests use the server's default metrics port").to.equal(DEFAULTS.get('metrics.port'));
        expect(portNamed(server, 'grpc').containerPort).to.equal(config.grpcPort);
        expect(portNamed(server, 'metrics').containerPort).to.equal(config.metricsPort);
      });

      it('every Service selecting the pods targets the grpc (and metrics) port, named so, gRPC marked as such', () => {
        const { template } = deployments[0]!.spec;
        const server = serverContainer(template.spec);
        const services = ofKind<Service>(objects, 'Service').filter((s) => matches(s.spec.selector, template.metadata.labels));
        expect(services, 'a Service selects the pods').to.have.length.greaterThan(0);
        for (const service of services) {
          for (const port of service.spec.ports) {
            expect(['grpc', 'metrics'], `${service.metadata.name}: port name ${port.name}`).to.include(port.name);
            const target = port.targetPort ?? port.port;
            const targetNumber = typeof target === 'number' ? target : portNamed(server, target).containerPort;
            expect(targetNumber, `${service.metadata.name}: ${port.name} target`).to.equal(portNamed(server, port.name).containerPort);
            if (port.name === 'grpc') expect(port.appProtocol, `${service.metadata.name}: grpc appProtocol`).to.be.oneOf(['grpc', 'kubernetes.io/h2c']);
          }
        }
        const clusterIp = services.filter((s) => s.spec.clusterIP !== 'None');
        expect(clusterIp.flatMap((s) => s.spec.ports.map((p) => p.name))).to.include.members(['grpc', 'metrics']);
      });

      it('terminationGracePeriodSeconds exceeds preStop + SHUTDOWN_DELAY_SECONDS + SHUTDOWN_GRACE_SECONDS', () => {
        const pod = deployments[0]!.spec.template.spec;
        const server = serverContainer(pod);
        const { delay, grace } = effectiveConfig(server);
        const limit = pod.terminationGracePeriodSeconds ?? K8S_DEFAULT_GRACE_SECONDS;
        expect(delay, 'a shutdown delay so endpoints update before calls are refused').to.be.greaterThan(0);
        expect(limit).to.be.greaterThan(preStopSeconds(server) + delay + grace);
      });

      it('runs as non-root with a read-only root filesystem, with CPU requests for the HPA', () => {
        const pod = deployments[0]!.spec.template.spec;
        const server = serverContainer(pod);
        expect(server.securityContext?.readOnlyRootFilesystem).to.equal(true);
        expect(server.securityContext?.runAsUser ?? pod.securityContext?.runAsUser, 'runAsUser').to.be.a('number').and.greaterThan(0);
        expect(server.resources?.requests?.cpu, 'cpu request').to.not.equal(undefined);
        expect(server.resources?.limits?.memory, 'memory limit').to.not.equal(undefined);
      });

      it('the HPA and the PodDisruptionBudget point at the Deployment', () => {
        const deployment = deployments[0]!;
        for (const hpa of ofKind<K8sObject & { spec: { scaleTargetRef: { kind: string; name: string } } }>(objects, 'HorizontalPodAutoscaler')) {
          expect(hpa.spec.scaleTargetRef).to.include({ kind: 'Deployment', name: deployment.metadata.name });
        }
        for (const pdb of ofKind<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(objects, 'PodDisruptionBudget')) {
          expect(matches(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).to.equal(true);
        }
      });

      it('a PodMonitor or ServiceMonitor scrapes the port named metrics on /metrics', () => {
        const { template } = deployments[0]!.spec;
        const monitors = [...ofKind<Monitor>(objects, 'PodMonitor'), ...ofKind<Monitor>(objects, 'ServiceMonitor')];
        expect(monitors).to.have.length.greaterThan(0);
        for (const monitor of monitors) {
          expect(monitor.apiVersion).to.equal('monitoring.coreos.com/v1');
          const endpoints = monitor.spec.podMetricsEndpoints ?? monitor.spec.endpoints ?? [];
          expect(endpoints).to.have.length.greaterThan(0);
          for (const e of endpoints) expect(e).to.include({ port: 'metrics', path: '/metrics' });
          const selected = monitor.kind === 'PodMonitor'
            ? [template.metadata.labels]
            : ofKind<Service>(objects, 'Service').filter((s) => matches(s.spec.selector, template.metadata.labels)).map((s) => s.metadata.labels ?? {});
          expect(selected.some((labels) => matches(monitor.spec.selector.matchLabels, labels)), `${monitor.metadata.name} selects the server`).to.equal(true);
        }
      });
    });
  }

  describe('GPU and CPU variants', () => {
    const serverOf = (variant: string): Container => {
      const dir = KUSTOMIZE_DIRS.find((d) => variantName(d) === variant);
      if (dir === undefined) throw new Error(`no kustomization deploy/${variant}`);
      return serverContainer(ofKind<Deployment>(rendered(dir), 'Deployment')[0]!.spec.template.spec);
    };

    it('the GPU variant asks for one nvidia.com/gpu, runs the GPU image and tries CUDA first', () => {
      const server = serverOf('k8s/gpu');
      expect(Number(server.resources?.limits?.['nvidia.com/gpu'])).to.be.at.least(1);
      const request = server.resources?.requests?.['nvidia.com/gpu'];
      if (request !== undefined) expect(Number(request), 'an extended resource request equals its limit').to.equal(Number(server.resources!.limits!['nvidia.com/gpu']));
      expect(server.image, 'the image Dockerfile.gpu builds (tag -gpu)').to.match(/-gpu$/);
      expect(effectiveConfig(server).providers[0]).to.equal('cuda');
    });

    it('the CPU variant asks for no GPU and does not try CUDA', () => {
      const server = serverOf('k8s/base');
      expect(server.resources?.limits?.['nvidia.com/gpu']).to.equal(undefined);
      expect(server.image).to.not.match(/-gpu$/);
      expect(effectiveConfig(server).providers).to.deep.equal(['cpu']);
    });
  });

  describe('images', () => {
    const dockerfiles = ['Dockerfile', 'Dockerfile.gpu'].map((f) => path.join(REPO_ROOT, f)).filter((f) => fs.existsSync(f));

    it("each Dockerfile runs as the manifests' user and exposes the server's default ports", () => {
      expect(dockerfiles).to.have.length(2);
      const users = new Set([
        ...ofKind<Deployment>(KUSTOMIZE_DIRS.flatMap(rendered), 'Deployment').map((d) => d.spec.template.spec.securityContext?.runAsUser),
        ...ofKind<ServingRuntime>(standalone(), 'ClusterServingRuntime').map((r) => serverContainer(r.spec).securityContext?.runAsUser),
      ]);
      for (const file of dockerfiles) {
        const text = fs.readFileSync(file, 'utf8');
        const user = /^USER\s+(\d+)/m.exec(text)?.[1];
        expect(users, `${path.basename(file)} USER`).to.deep.equal(new Set([Number(user)]));
        const exposed = (/^EXPOSE\s+(.+)$/m.exec(text)?.[1] ?? '').split(/\s+/).map(Number);
        expect(exposed, path.basename(file)).to.include.members([DEFAULTS.get('grpc.port'), DEFAULTS.get('metrics.port')]);
      }
    });
  });

  describe('KServe', () => {
    let runtimes: ServingRuntime[] = [];
    let services: InferenceService[] = [];
    before(() => {
      runtimes = [...ofKind<ServingRuntime>(standalone(), 'ClusterServingRuntime'), ...ofKind<ServingRuntime>(standalone(), 'ServingRuntime')];
      services = ofKind<InferenceService>(standalone(), 'InferenceService');
    });

    it('the runtime supports onnx over grpc-v2', () => {
      expect(runtimes).to.have.length.greaterThan(0);
      for (const runtime of runtimes) {
        expect(runtime.apiVersion).to.equal('serving.kserve.io/v1alpha1');
        expect(runtime.spec.supportedModelFormats.map((f) => f.name)).to.include('onnx');
        expect(runtime.spec.protocolVersions).to.include('grpc-v2');
      }
    });

    it("its container serves /mnt/models, and its first port (KServe's) is the gRPC port its settings give, named for h2c", () => {
      for (const runtime of runtimes) {
        const container = runtime.spec.containers.find((c) => c.name === 'kserve-container');
        expect(container, 'a container named kserve-container').to.not.equal(undefined);
        const config = effectiveConfig(container!);
        expect(config.repository).to.equal('/mnt/models');
        const first = container!.ports![0]!;
        expect(first.containerPort).to.equal(config.grpcPort);
        expect(first.name, "KServe marks a port as gRPC (h2c) by its name").to.match(/h2c|grpc/);
        expect(runtime.spec.annotations?.['prometheus.kserve.io/port']).to.equal(String(config.metricsPort));
        expect(runtime.spec.annotations?.['prometheus.kserve.io/path']).to.equal('/metrics');
        expectGrpcProbe(container!.livenessProbe, 'livenessProbe', config.grpcPort, '');
        expectGrpcProbe(container!.readinessProbe, 'readinessProbe', config.grpcPort, INFERENCE_SERVICE);
      }
    });

    it("the drain fits each InferenceService's grace period (the pod default when unset)", () => {
      for (const runtime of runtimes) {
        const container = serverContainer(runtime.spec);
        const { delay, grace } = effectiveConfig(container);
        const users = services.filter((s) => s.spec.predictor.model.runtime === runtime.metadata.name);
        const limits = users.length > 0 ? users.map((s) => s.spec.predictor.terminationGracePeriodSeconds ?? K8S_DEFAULT_GRACE_SECONDS) : [K8S_DEFAULT_GRACE_SECONDS];
        for (const limit of limits) expect(limit).to.be.greaterThan(preStopSeconds(container) + delay + grace);
      }
    });

    it('the example InferenceService asks for grpc-v2 from a runtime that serves its model format', () => {
      expect(services).to.have.length.greaterThan(0);
      for (const isvc of services) {
        const { model } = isvc.spec.predictor;
        expect(model.protocolVersion).to.equal('grpc-v2');
        const runtime = runtimes.find((r) => r.metadata.name === model.runtime);
        expect(runtime, `runtime ${model.runtime} is defined in deploy/`).to.not.equal(undefined);
        expect(runtime!.spec.supportedModelFormats.map((f) => f.name)).to.include(model.modelFormat.name);
      }
    });
  });
});
