/** The two models the check measures: the bundled digit_cnn and image_cnn, made on demand into a temporary folder. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, imageCnn, writeFiles } from '../make-models';

export interface CheckModel {
  readonly name: string;
  readonly file: string;
  readonly input: string;
  readonly output: string;
  /** One row's shape, without the batch dimension. */
  readonly rowShape: readonly number[];
  readonly rowLength: number;
  /** A fixed pattern in [-0.5, 0.5), `rows` rows of it. */
  rows(count: number): Float32Array;
}

function model(name: string, file: string, input: string, output: string, rowShape: number[]): CheckModel {
  const rowLength = rowShape.reduce((a, b) => a * b, 1);
  return {
    name,
    file,
    input,
    output,
    rowShape,
    rowLength,
    rows: (count) => Float32Array.from({ length: count * rowLength }, (_, i) => (((i % rowLength) * 7919) % 97) / 97 - 0.5),
  };
}

/** digit_cnn from models/, image_cnn written under `dir`. */
export function checkModels(dir: string): CheckModel[] {
  const digit = path.join(REPO_ROOT, 'models', 'digit_cnn', '1', 'model.onnx');
  if (!fs.existsSync(digit)) throw new Error(`the bundled model ${digit} is missing`);
  writeFiles(dir, imageCnn());
  return [
    model('digit_cnn', digit, 'image', 'logits', [1, 8, 8]),
    model('image_cnn', path.join(dir, 'image_cnn', '1', 'model.onnx'), 'image', 'logits', [3, 64, 64]),
  ];
}
