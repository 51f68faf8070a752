// DATA_DIR holds the private Redis (subscriber addresses, push keys), its password and the outbox
// of mails: only the service's own user may read it. Folders are 0700, files 0600.
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Creates the folder 0700, or narrows an existing one we own to 0700; answers the path. */
export function privateDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  try {
    chmodSync(path, 0o700);
  } catch {
    // A folder the operator made and owns under another user: leave it as they set it.
  }
  return path;
}

export const PRIVATE_FILE_MODE = 0o600;

/** Narrows what an older version left readable (0644 files, 0755 folders) under `path`. */
export function narrowTree(path: string): void {
  for (const e of readdirSync(path, { withFileTypes: true, recursive: true })) {
    try {
      chmodSync(join(e.parentPath, e.name), e.isDirectory() ? 0o700 : PRIVATE_FILE_MODE);
    } catch {
      // Not ours: left as it is.
    }
  }
}
