/**
 * `npm run test:node -- 22 24`: runs the compiled test suite under other Node.js versions, taken
 * from npm's node-<os>-<arch> packages (the official binaries, published to the registry), so the
 * version matrix can be checked with nothing but the npm registry. Each version is unpacked once
 * into node_modules/.cache/test-node/<version>/; a major version ("22") means its newest release.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'test-node');
const MOCHA = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
const PACKAGE = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;

function npm(args: string[], cwd = ROOT): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/** "22" -> the newest 22.x.y published; an exact version stays as it is. */
function resolveVersion(wanted: string): string {
  const found = JSON.parse(npm(['view', `${PACKAGE}@${wanted}`, 'version', '--json']) || 'null') as string | string[] | null;
  const versions = (Array.isArray(found) ? found : found ? [found] : []).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  if (versions.length === 0) throw new Error(`npm has no ${PACKAGE}@${wanted}`);
  const key = (v: string) => v.split('.').map(Number);
  return versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  })[versions.length - 1];
}

/** The node binary of `version`, unpacked from its npm package on first use. */
function nodeBinary(version: string): string {
  const dir = path.join(CACHE, version);
  const binary = path.join(dir, 'package', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (fs.existsSync(binary)) return binary;
  const download = fs.mkdtempSync(path.join(os.tmpdir(), 'test-node-'));
  try {
    const tarball = npm(['pack', `${PACKAGE}@${version}`, '--pack-destination', download, '--silent']).trim().split('\n').pop()!;
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['xzf', path.join(download, tarball), '-C', dir]);
  } finally {
    fs.rmSync(download, { recursive: true, force: true });
  }
  return binary;
}

interface Result {
  readonly version: string;
  readonly exitCode: number;
  readonly passing: string;
  readonly failing: string;
}

function runSuite(version: string): Result {
  const node = nodeBinary(version);
  process.stderr.write(`\n=== Node ${version}: ${node} ${path.relative(ROOT, MOCHA)}\n`);
  const run = spawnSync(node, [MOCHA], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 });
  process.stdout.write(run.stdout ?? '');
  const count = (word: string) => (run.stdout ?? '').match(new RegExp(`(\\d+) ${word}`))?.[1] ?? '0';
  return { version, exitCode: run.status ?? 1, passing: count('passing'), failing: count('failing') };
}

function main(): void {
  const wanted = process.argv.slice(2);
  if (wanted.length === 0) {
    process.stderr.write('usage: npm run test:node -- VERSION... (a major such as 22, or an exact 24.21.0)\n');
    process.exit(2);
  }
  const results = wanted.map(resolveVersion).map(runSuite);
  process.stdout.write('\n| Node | passing | failing | exit |\n| --- | ---: | ---: | ---: |\n');
  for (const r of results) process.stdout.write(`| ${r.version} | ${r.passing} | ${r.failing} | ${r.exitCode} |\n`);
  process.exit(results.every((r) => r.exitCode === 0) ? 0 : 1);
}

main();
