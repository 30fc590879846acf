// The one atomic write: readers (players, the next stage, another process) see the old file or the
// new one, never half of it. Write a temporary file in the same folder, fsync, rename over the target.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** A temporary name beside `target` (same folder, so the rename is atomic), unique per writer. */
export function tempPathFor(target: string): string {
  const dir = path.dirname(path.resolve(target));
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Moves a finished temporary file over `target`; on failure the temporary file is removed. */
export async function commitFile(tmp: string, target: string): Promise<void> {
  try {
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes `data` to `file` atomically (temp file in the same folder + fsync + rename; the folder
 * is created when missing). On failure the temp file is removed and the target is untouched.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(file);
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await commitFile(tmp, file);
  // Make the rename itself durable; some filesystems refuse fsync on a folder, which is harmless.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* best effort */
  }
}
