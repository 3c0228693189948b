/**
 * Summarizes the .cpuprofile files that `node --cpu-prof` writes at exit (one per thread):
 * self time per function and summed per file, idle excluded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './protocol';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  /** Self time per request the process served over its life (when known). */
  readonly usPerRequest: number | undefined;
  /** Share of the thread's busy (non-idle) time. */
  readonly pct: number;
}

export interface ThreadProfile {
  readonly file: string;
  /** "main" or "worker <thread id>", from the file name CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile. */
  readonly thread: string;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly requests: number | undefined;
  readonly topFunctions: readonly SelfTime[];
  readonly byFile: readonly SelfTime[];
}

/** @param requests requests the process served over its whole life, to state self time per request. */
export function summarizeProfiles(dir: string, requests: number | undefined, top = 15): ThreadProfile[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((file) => summarizeProfile(path.join(dir, file), requests, top));
}

function summarizeProfile(file: string, requests: number | undefined, top: number): ThreadProfile {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the gap before sample i, so sample i lasted until the next one.
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + us);
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const where = shortUrl(frame.url);
    const fn = where ? `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}` : frame.functionName || '(anonymous)';
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const fileKey = where || (frame.functionName.startsWith('(') ? frame.functionName : '(native)');
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + us);
  }
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, usPerRequest: requests ? us / requests : undefined, pct: busyUs > 0 ? (us / busyUs) * 100 : 0 }));
  const tid = path.basename(file).split('.')[4];
  return {
    file,
    thread: tid === '0' ? 'main' : `worker ${tid}`,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    requests,
    topFunctions: rank(byFunction),
    byFile: rank(byFile),
  };
}

/** file:///work/main/node_modules/@grpc/grpc-js/build/src/x.js -> @grpc/grpc-js/build/src/x.js */
function shortUrl(url: string): string {
  if (!url) return '';
  let p = url.startsWith('file://') ? url.slice('file://'.length) : url;
  const modules = p.lastIndexOf('/node_modules/');
  if (modules >= 0) return p.slice(modules + '/node_modules/'.length);
  if (p.startsWith(REPO_ROOT + path.sep)) p = p.slice(REPO_ROOT.length + 1);
  return p;
}

export function formatProfiles(title: string, threads: readonly ThreadProfile[]): string {
  const lines = [`CPU profile: ${title}`];
  for (const t of threads) {
    const perRequest = t.requests ? `, ${t.requests} requests served, ${((t.busyMs * 1000) / t.requests).toFixed(1)} us busy/request` : '';
    lines.push(`  thread ${t.thread}: busy ${t.busyMs.toFixed(0)} ms, idle ${t.idleMs.toFixed(0)} ms${perRequest}  (${path.basename(t.file)})`);
    const row = (s: SelfTime): string =>
      `      ${s.pct.toFixed(1).padStart(5)}%  ${s.ms.toFixed(0).padStart(7)} ms${s.usPerRequest === undefined ? '' : `  ${s.usPerRequest.toFixed(2).padStart(7)} us/req`}  ${s.name}`;
    lines.push('    self time by file:');
    for (const s of t.byFile) lines.push(row(s));
    lines.push('    top functions by self time:');
    for (const s of t.topFunctions) lines.push(row(s));
  }
  return lines.join('\n');
}
