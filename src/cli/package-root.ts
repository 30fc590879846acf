// The package root (the folder of swiftvr's package.json), found from this file's location so
// it is the same whether the CLI runs compiled (dist/src/cli) or from source through tsx (src/cli).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'swiftvr') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    if (dirname(dir) === dir) throw new Error(`no swiftvr package.json above ${from}`);
  }
}

/** The trained default model shipped with the package. */
export const defaultModelPath = (): string => join(packageRoot(), 'models', 'swiftvr-x2.onnx');
