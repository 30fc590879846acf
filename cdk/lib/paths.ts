// Filesystem anchors of the CDK app: the repository root is the Docker build context of the
// worker image and the project root of the router Lambda's esbuild bundle.
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const ROUTER_ENTRY = path.join(REPO_ROOT, 'src', 'cloud', 'router-lambda.ts');
export const LOCK_FILE = path.join(REPO_ROOT, 'package-lock.json');
export const DOCKERFILE = path.join(REPO_ROOT, 'containers', 'Dockerfile');
/** BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile; CDK hashes with the same rules. */
export const DOCKERIGNORE = `${DOCKERFILE}.dockerignore`;
