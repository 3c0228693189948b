/** readModelFolder and the fingerprint a poll compares: what counts as a change on disk, and what does not. */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listModelFolders, readModelFolder } from '../src/repository/discover';
import { folderFingerprint } from '../src/repository/model-fingerprint';
import { makeTempDir, removeDir, writeModelConfig, writeModelFile } from './support/e2e-helpers';

describe('model folder fingerprint', () => {
  let repo: string;
  beforeEach(() => {
    repo = makeTempDir('fingerprint');
    writeModelFile(repo, 'm', 1, Buffer.from('version one'));
    writeModelConfig(repo, 'm', { max_batch_size: 4 });
  });
  afterEach(() => removeDir(repo));

  const fingerprint = async (): Promise<string> => {
    const folder = await readModelFolder(repo, 'm');
    return folderFingerprint(folder!.configs, folder!.versions, folder!.bareVersions);
  };
  const file = (version: number): string => path.join(repo, 'm', String(version), 'model.onnx');

  it('reads config.json as text and each numeric version folder holding model.onnx; others are ignored', async () => {
    fs.mkdirSync(path.join(repo, 'm', '2'));
    fs.mkdirSync(path.join(repo, 'm', 'notes'));
    writeModelFile(repo, 'm', 10, Buffer.from('ten'));
    const folder = await readModelFolder(repo, 'm');
    expect([...folder!.versions.keys()]).to.deep.equal([1, 10]);
    expect(folder!.configs.map((c) => [c.file, JSON.parse(c.text)])).to.deep.equal([['config.json', { max_batch_size: 4 }]]);
    expect(await readModelFolder(repo, 'absent')).to.equal(undefined);
    fs.mkdirSync(path.join(repo, '.hidden'));
    expect(await listModelFolders(repo)).to.deep.equal(['m']);
  });

  it("lists empty version folders apart (an ensemble's versions), and a new one changes the fingerprint", async () => {
    const before = await fingerprint();
    fs.mkdirSync(path.join(repo, 'm', '3'));
    fs.mkdirSync(path.join(repo, 'm', '04'));
    const folder = await readModelFolder(repo, 'm');
    expect([...folder!.versions.keys()]).to.deep.equal([1]);
    expect(folder!.bareVersions).to.deep.equal([3]);
    expect(await fingerprint()).not.to.equal(before);
  });

  it('stays the same when nothing changed', async () => {
    expect(await fingerprint()).to.equal(await fingerprint());
  });

  it('changes with config.json content, including a config.json removed', async () => {
    const before = await fingerprint();
    writeModelConfig(repo, 'm', { max_batch_size: 8 });
    const edited = await fingerprint();
    expect(edited).not.to.equal(before);
    fs.rmSync(path.join(repo, 'm', 'config.json'));
    expect(await fingerprint()).not.to.equal(edited);
  });

  it('reads config.pbtxt too, and changes with its content, when it appears and when it goes', async () => {
    const before = await fingerprint();
    const pbtxt = path.join(repo, 'm', 'config.pbtxt');
    fs.writeFileSync(pbtxt, 'max_batch_size: 4\n');
    const folder = await readModelFolder(repo, 'm');
    expect(folder!.configs.map((c) => [c.file, c.text])).to.deep.equal([
      ['config.pbtxt', 'max_batch_size: 4\n'],
      ['config.json', '{\n  "max_batch_size": 4\n}\n'],
    ]);
    const added = await fingerprint();
    expect(added).not.to.equal(before);
    fs.writeFileSync(pbtxt, 'max_batch_size: 8\n');
    const edited = await fingerprint();
    expect(edited).not.to.equal(added);
    fs.rmSync(pbtxt);
    expect(await fingerprint()).to.equal(before);
  });

  it('changes when a model.onnx is rewritten in place with bytes of the same size', async () => {
    const before = await fingerprint();
    const stat = fs.statSync(file(1));
    fs.writeFileSync(file(1), Buffer.from('version uno'));
    // Set a later mtime explicitly: two writes within one clock tick may share one.
    fs.utimesSync(file(1), stat.atime, new Date(stat.mtimeMs + 1000));
    expect(await fingerprint()).not.to.equal(before);
  });

  it('changes when a model.onnx is replaced by rename, even with the same size and modification time', async () => {
    const before = await fingerprint();
    const stat = fs.statSync(file(1));
    const next = path.join(repo, 'm', '1', 'model.onnx.new');
    fs.writeFileSync(next, Buffer.from('version uno'));
    fs.utimesSync(next, stat.atime, stat.mtime);
    fs.renameSync(next, file(1));
    expect(await fingerprint()).not.to.equal(before);
  });

  it('changes when a version folder appears or goes', async () => {
    const before = await fingerprint();
    writeModelFile(repo, 'm', 2, Buffer.from('two'));
    const grown = await fingerprint();
    expect(grown).not.to.equal(before);
    fs.rmSync(path.join(repo, 'm', '2'), { recursive: true });
    expect(await fingerprint()).to.equal(before);
  });
});
