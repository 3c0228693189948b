import * as fs from 'node:fs';
import * as path from 'node:path';

/** proto/ at the repository root, found upward so it works from src/ and dist/src/ alike. */
export const PROTO_DIR = findProtoDir(__dirname);

function findProtoDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'proto', 'grpc_service.proto'))) return path.join(dir, 'proto');
    if (path.dirname(dir) === dir) throw new Error(`proto/grpc_service.proto not found above ${from}`);
  }
}
