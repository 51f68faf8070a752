// What bull-board may change. Its API can add, edit, promote or remove fan-out jobs, which would
// send an alert without approval or before its time, so every write goes through this allow-list:
// editors only read; a chief may retry or remove FAILED jobs (a batch that gave up after a push
// service outage), nothing else. Every write, allowed or refused, lands in the audit log.
import type { Request, RequestHandler, Response } from 'express';
import type { Domain } from '../services';
import type { Queues } from '../pipeline/queues';
import { ApiError } from './errors';
import { editorOf, isSafeMethod, sessionOf, type EditorIdentity } from './auth';

/** Paths as bull-board's router sees them, below /admin/queues. */
const FAILED_ONLY = /^\/api\/queues\/([^/]+)\/(?:retry|clean)\/failed$/;
const ONE_JOB = /^\/api\/queues\/([^/]+)\/([^/]+)\/(?:retry|clean)$/;
/** Enough to tell which route was tried; a longer path is cut, the audit entry stays small. */
const MAX_LOGGED_PATH = 200;

function who(res: Response): EditorIdentity | undefined {
  const session = sessionOf(res);
  if (session) return { name: session.name, role: session.role };
  return res.locals.editor === undefined ? undefined : editorOf(res.locals);
}

/** What the check below needs of a queue, whatever its job data. */
interface BoardQueue {
  readonly name: string;
  getJob(id: string): Promise<{ getState(): Promise<string> } | undefined>;
}

/** The queues the board shows (admin.ts), looked up by the name in bull-board's path. */
function queueNamed(queues: Queues, name: string): BoardQueue | undefined {
  const shown: BoardQueue[] = [queues.fanout, queues.push, queues.email, queues.pushFlash, queues.emailFlash, queues.mail, queues.webhook];
  return shown.find((q) => q.name === name);
}

/** Whether a chief may make this write: retry or clean of failed jobs only. */
async function chiefMay(req: Request, queues: Queues): Promise<boolean> {
  if (req.method !== 'PUT') return false;
  const all = FAILED_ONLY.exec(req.path);
  if (all) return queueNamed(queues, decodeURIComponent(all[1])) !== undefined;
  const one = ONE_JOB.exec(req.path);
  if (!one) return false;
  const queue = queueNamed(queues, decodeURIComponent(one[1]));
  const job = queue ? await queue.getJob(decodeURIComponent(one[2])) : undefined;
  // bull-board would also retry a completed job, or remove a delayed one: failed jobs only.
  return job !== undefined && (await job.getState()) === 'failed';
}

export function boardWrites(d: Pick<Domain, 'audit'>, queues: Queues): RequestHandler {
  return async (req, res, next) => {
    if (isSafeMethod(req)) {
      next();
      return;
    }
    const editor = who(res);
    if (!editor) {
      next(new ApiError(401, 'unauthorized', 'a valid editor token is required'));
      return;
    }
    try {
      const allowed = editor.role === 'chief' && (await chiefMay(req, queues));
      await d.audit.record({
        action: 'board',
        editor: editor.name,
        role: editor.role,
        details: { method: req.method, path: req.path.slice(0, MAX_LOGGED_PATH), allowed },
      });
      if (allowed) {
        next();
        return;
      }
      next(
        new ApiError(
          403,
          'forbidden',
          editor.role === 'chief'
            ? 'the queue board only retries or removes failed jobs; alerts are published, approved and cancelled in the console'
            : 'the queue board is read-only for editors',
        ),
      );
    } catch (err) {
      next(err);
    }
  };
}
