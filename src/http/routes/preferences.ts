// The preference page behind the signed link in every email: change topics, unsubscribe or come
// back, download one's data, delete it (GDPR). GET shows and exports and never changes anything;
// every change is a POST of one of the page's forms to the same signed URL.
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import type { EmailSubscriber } from '../../store/email-subscribers';
import { digestTimeSchema, langSchema, topicsSchema } from '../../schemas';
import { LANGUAGES } from '../../model';
import { DEFAULT_TIME_ZONE } from '../../quiet-hours';
import { clockText } from '../../digest-clock';
import { badRequest } from '../errors';
import { PAGE_QUIET_WINDOW } from '../../quiet-hours';
import { linkToken, privatePage, subscriptionGone, tokenFrom, wantsHtml } from '../links';

const PATH = '/api/subscriptions/email/preferences';
/** The quiet window the page offers, as on the subscribe page. */
export const OFFERED_QUIET_HOURS = PAGE_QUIET_WINDOW;

/** A form sends one `topics` field per ticked box (or none at all); JSON clients send an array. */
const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? (v as unknown[]) : [v]);
const actionSchema = z.discriminatedUnion(
  'action',
  [
    z.object({ action: z.literal('topics'), topics: z.preprocess(asList, topicsSchema) }),
    // A ticked box sends the window it offers; none means the newsroom's default.
    z.object({ action: z.literal('quiet'), quietHours: z.literal(OFFERED_QUIET_HOURS).optional() }),
    // « À chaque alerte » or « un résumé par jour à HH:MM » (digestTime, checked against DIGEST_TIMES).
    z.object({ action: z.literal('digest'), mode: z.enum(['instant', 'daily']), digestTime: z.unknown().optional() }),
    // Emails and this page in another of our languages.
    z.object({ action: z.literal('lang'), lang: langSchema }),
    z.object({ action: z.literal('unsubscribe') }),
    z.object({ action: z.literal('resubscribe') }),
    z.object({ action: z.literal('delete'), confirm: z.string().optional() }),
  ],
  { error: 'action must be topics, quiet, digest, lang, unsubscribe, resubscribe or delete' },
);

export function preferenceRoutes(d: Domain): Router {
  const r = Router();
  const subs = d.emailSubscribers;
  const form = express.urlencoded({ extended: false, limit: '4kb' });
  const digestTime = digestTimeSchema(d.config.digest.times);
  const times = d.config.digest.times;

  const load = async (req: Request, res: Response): Promise<EmailSubscriber> => {
    const sub = await subs.get(tokenFrom(d, 'prefs', req));
    if (!sub) throw subscriptionGone();
    // A refusal on this page (a bad form) reads in the reader's language too.
    res.locals.lang = sub.lang;
    return sub;
  };

  const show = async (req: Request, res: Response, sub: EmailSubscriber, msg: { notice?: string; problem?: string } = {}) => {
    const token = linkToken(req);
    // The newsroom's topics (PAGE_TOPICS, as on the subscribe page), then any other the reader
    // follows that is still active (a retired one could not be saved again).
    const offered = new Map(d.config.page.topics.map((t) => [t.slug, t.label]));
    const active = new Map((await d.topics.list()).map((t) => [t.slug, t.label]));
    for (const slug of sub.topics) if (!offered.has(slug) && active.has(slug)) offered.set(slug, active.get(slug)!);
    const topics = [...offered].map(([slug, label]) => ({ slug, label, checked: sub.topics.includes(slug) }));
    // In the reader's language, as the emails that lead here.
    const r = d.renderer.in(sub.lang);
    const languages = LANGUAGES.map((code) => ({ code, name: r.in(code).t('langName'), selected: code === r.lang }));
    privatePage(res).send(
      r.emailPage('preferences', r.t('prefsTitle'), {
        languages,
        ...msg,
        email: sub.email,
        status: sub.status,
        topics,
        quiet: { value: OFFERED_QUIET_HOURS, checked: sub.quietHours?.start === 22 * 3600 && sub.quietHours.end === 8 * 3600 },
        digest: {
          daily: sub.digest !== undefined,
          time: sub.digest ?? '07:00',
          zone: sub.timeZone ?? DEFAULT_TIME_ZONE,
          // A regular step is a time field; a short list, a menu.
          step: times.step === undefined ? undefined : times.step * 60,
          options: times.step === undefined ? times.minutes.map(clockText) : [],
        },
        action: `${PATH}?token=${token}`,
        dataUrl: `${PATH}/data?token=${token}`,
      }),
    );
  };

  r.get(PATH, async (req, res) => {
    await show(req, res, await load(req, res));
  });

  r.get(`${PATH}/data`, async (req, res) => {
    const sub = await load(req, res);
    res
      .set({ 'Cache-Control': 'no-store', 'Content-Disposition': 'attachment; filename="depeche-mes-donnees.json"' })
      .json({ subscription: { ...sub, id: undefined }, exportedAt: new Date().toISOString() });
  });

  r.post(PATH, form, async (req, res) => {
    let sub = await load(req, res);
    const input = actionSchema.parse(req.body ?? {});
    // A change of language answers in the new one.
    const r = d.renderer.in(input.action === 'lang' ? input.lang : sub.lang);
    const t = r.t.bind(r);
    let notice: string;
    switch (input.action) {
      case 'lang':
        if (!(await subs.setLang(sub.id, input.lang))) throw subscriptionGone();
        sub = { ...sub, lang: input.lang };
        notice = t('prefsSaved');
        break;
      case 'topics':
        sub = (await subs.setTopics(sub.id, input.topics)) ?? sub;
        notice = t('prefsSaved');
        break;
      case 'quiet':
        sub = (await subs.setQuietHours(sub.id, input.quietHours)) ?? sub;
        notice = t('prefsSaved');
        break;
      case 'digest':
        sub = (await subs.setDigest(sub.id, input.mode === 'daily' ? digestTime.parse(input.digestTime) : undefined)) ?? sub;
        notice = t('prefsSaved');
        break;
      case 'unsubscribe':
        sub = (await subs.unsubscribe(sub.id)) ?? sub;
        notice = t('unsubscribedPageText', { email: sub.email });
        break;
      case 'resubscribe':
        // The link was mailed to this address, so following it proves the address is theirs.
        sub = (await subs.resubscribe(sub.id)) ?? sub;
        notice = t('prefsResubscribed');
        break;
      case 'delete':
        if (input.confirm !== 'yes') {
          if (!wantsHtml(req))
            throw badRequest('confirm: must be "yes" to delete the subscription', [{ field: 'confirm', message: 'must be "yes"' }]);
          res.status(400);
          await show(req, res, sub, { problem: t('prefsDeleteMissingConfirm') });
          return;
        }
        await subs.erase(sub.id);
        if (!wantsHtml(req)) {
          res.json({ status: 'deleted' });
          return;
        }
        privatePage(res).send(r.page('message', { title: t('deletedPageTitle'), text: t('deletedPageText') }));
        return;
    }
    if (!wantsHtml(req)) {
      res.json({
        status: sub.status,
        topics: sub.topics,
        ...(input.action === 'digest' ? { digest: sub.digest ?? null } : {}),
        ...(input.action === 'lang' ? { lang: input.lang } : {}),
      });
      return;
    }
    await show(req, res, sub, { notice });
  });

  return r;
}
