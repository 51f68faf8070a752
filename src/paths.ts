// Where the files read at run time (templates, the console's static files) are: the folder holding
// package.json, found from this file's own place, so the same code runs from src/ under tsx and
// from dist/src/ once compiled (dist holds no templates).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const APP_ROOT = findRoot(__dirname);
