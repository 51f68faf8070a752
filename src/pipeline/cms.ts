// The CMS hook's workflow: a post's first revision publishes an alert whose story is the post,
// each later revision publishes an update of that alert, and the same (post, revision) twice —
// or an older revision arriving late — sends nothing. The claim on (post, revision) is taken
// atomically before anything is published and given back if publishing fails, so a CMS may
// retry freely. `cancel` is the kill switch of the post's alert. The CMS acts as an editor under
// its own name, so the audit log says which CMS did what.
import { createHash } from 'node:crypto';
import type { Domain } from '../services';
import type { AlertInput } from '../schemas';
import { notFound } from '../errors';
import { newAlertId, publishAlert, publishUpdate, type Newsroom } from './publish';
import { cancelAlert, type Control } from './control';
import type { Actor } from '../model';

export type CmsDeps = Newsroom & Control & Pick<Domain, 'cmsPosts'>;

export type CmsRequest = { action: 'publish'; postId: string; revision: number; alert: AlertInput } | { action: 'cancel'; postId: string };

export type CmsOutcome =
  | { outcome: 'published' | 'updated'; alertId: string; rev: number }
  | { outcome: 'duplicate'; alertId: string; revision: number }
  | { outcome: 'cancelled'; alertId: string };

/** How long an update waits for the alert its post's first revision is still publishing. */
const FIRST_PUBLISH_WAIT_MS = 3000;

/** The post as a story slug: readable when the post id is already a slug, else a short digest. */
export function storyOf(cms: string, postId: string): string {
  const readable = `${cms}-${postId}`;
  if (/^[a-z0-9-]+$/.test(postId) && readable.length <= 64) return readable;
  return `${cms}-${createHash('sha256').update(postId).digest('hex').slice(0, 16)}`;
}

export async function cmsHook(d: CmsDeps, cms: string, req: CmsRequest): Promise<CmsOutcome> {
  const actor: Actor = { name: cms, role: 'editor' };
  if (req.action === 'cancel') {
    const alertId = await d.cmsPosts.alertOf(cms, req.postId);
    if (!alertId) throw notFound('post');
    await cancelAlert(d, alertId, actor);
    return { outcome: 'cancelled', alertId };
  }
  const claim = await d.cmsPosts.claim(cms, req.postId, req.revision, newAlertId());
  if (claim.kind === 'duplicate') return { outcome: 'duplicate', alertId: claim.alertId, revision: claim.revision };
  try {
    if (claim.kind === 'first') {
      const { alert } = await publishAlert(d, { ...req.alert, story: storyOf(cms, req.postId) }, actor, undefined, claim.alertId);
      return { outcome: 'published', alertId: alert.id, rev: alert.rev };
    }
    await firstPublished(d, claim.alertId);
    const { title, body, url, flash } = req.alert;
    const alert = await publishUpdate(d, claim.alertId, { title, body, ...(url ? { url } : {}), flash }, actor);
    return { outcome: 'updated', alertId: alert.id, rev: alert.rev };
  } catch (err) {
    await d.cmsPosts.release(cms, req.postId, claim, req.revision).catch(() => undefined);
    throw err;
  }
}

/** Two revisions sent back to back: the second may arrive while the first is being stored. */
async function firstPublished(d: CmsDeps, alertId: string): Promise<void> {
  const end = Date.now() + FIRST_PUBLISH_WAIT_MS;
  while (!(await d.alerts.exists(alertId))) {
    if (Date.now() > end) return; // publishUpdate then says not_found, and the claim is given back
    await new Promise((r) => setTimeout(r, 25));
  }
}
