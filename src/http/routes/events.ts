// GET /api/events: one Server-Sent Events stream per console carrying every recent alert's
// delivery figures as they change (see live.ts). One stream for all alerts, not one per alert:
// browsers allow only six HTTP/1.1 connections per host, and a busy night has more alerts.
import { Router } from 'express';
import type { Domain } from '../../services';
import { editorRoutes, sessionOf } from '../auth';
import { watchSession } from '../session';
import { LiveFeed } from '../live';

const HEARTBEAT_MS = 15_000;

export function eventRoutes(
  d: Domain,
  feed = new LiveFeed(d.alerts, d.log, { intervalMs: 250, windowMs: 24 * 3600_000, finishedEvery: 20 }),
): Router {
  const r = Router();
  editorRoutes(r, d.secrets.editors).get('/api/events', (req, res) => {
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    // A reconnecting EventSource waits this long; short, since the editor is watching.
    res.write('retry: 2000\n\n');
    // While the socket is full, only each alert's latest chunk is kept (in its latest position),
    // written when it drains: a slow console sees fewer updates, never stale ones.
    const backlog = new Map<string, string>();
    let draining = false;
    const send = (id: string, chunk: string) => {
      if (draining) {
        backlog.delete(id);
        backlog.set(id, chunk);
      } else if (!res.write(chunk)) {
        draining = true;
        res.once('drain', drained);
      }
    };
    const drained = () => {
      draining = false;
      const waiting = [...backlog];
      backlog.clear();
      for (const [id, chunk] of waiting) send(id, chunk);
    };
    const unsubscribe = feed.subscribe(send);
    // Comment lines keep proxies from closing a quiet stream.
    const beat = setInterval(() => {
      res.write(': ping\n\n');
    }, HEARTBEAT_MS);
    // A console's stream lasts no longer than its session: the console hears why, then the
    // stream ends (its reconnection then gets 401). A Bearer token lives as long as the config.
    let open = true;
    const close = () => {
      if (open) {
        open = false;
        clearInterval(beat);
        unsubscribe();
        unwatch();
      }
    };
    const session = req.headers.authorization === undefined ? sessionOf(res) : undefined;
    const unwatch = session
      ? watchSession(
          d.sessions,
          session,
          d.config.http.sessionRecheckMs,
          () => {
            close();
            res.end('event: signed-out\ndata: {}\n\n');
          },
          d.log,
        )
      : () => undefined;
    req.on('close', close);
  });
  return r;
}
