// Email and page rendering. Templates (eta, HTML-escaped by default) are rendered and their CSS
// inlined once per alert; per recipient we only substitute the personal links, which keeps
// personalised sending close to the speed of sending one fixed message.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Eta } from 'eta';
import juice from 'juice';
import type { Alert } from '../store/alerts';
import { frenchDate, frenchTypography } from './french';

export const TEMPLATES_DIR = resolve(__dirname, '../../templates');

export type Strings = Record<string, string>;

export function loadStrings(lang = 'fr'): Strings {
  return JSON.parse(readFileSync(join(TEMPLATES_DIR, 'i18n', `${lang}.json`), 'utf8')) as Strings;
}

/** Placeholders that survive escaping and CSS inlining untouched. */
const UNSUB = '__DP_UNSUBSCRIBE_URL__';
const PREFS = '__DP_PREFERENCES_URL__';

export interface CompiledEmail {
  subject: string;
  /** The message for one recipient, given its personal links. */
  forRecipient(links: { unsubscribe: string; preferences: string }): { html: string; text: string };
}

export class Renderer {
  private readonly eta = new Eta({ views: TEMPLATES_DIR, autoEscape: true, cache: true });

  constructor(readonly strings: Strings) {}

  /** Resolves {name} placeholders in a UI string. */
  t(key: string, vars: Record<string, string> = {}): string {
    return (this.strings[key] ?? key).replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '');
  }

  alertEmail(alert: Alert): CompiledEmail {
    const data = {
      t: this.t.bind(this),
      title: frenchTypography(alert.title),
      body: frenchTypography(alert.body),
      url: alert.url,
      date: frenchDate(new Date(alert.createdAt)),
      links: { unsubscribe: UNSUB, preferences: PREFS },
    };
    const html = juice(this.eta.render('email/alert.html.eta', data));
    const text = this.eta.render('email/alert.txt.eta', { ...data, raw: true });
    return {
      subject: data.title,
      forRecipient: (links) => ({
        html: html.replaceAll(UNSUB, escapeAttr(links.unsubscribe)).replaceAll(PREFS, escapeAttr(links.preferences)),
        text: text.replaceAll(UNSUB, links.unsubscribe).replaceAll(PREFS, links.preferences),
      }),
    };
  }

  confirmEmail(confirmUrl: string): { subject: string; html: string; text: string } {
    const data = { t: this.t.bind(this), confirmUrl };
    return {
      subject: frenchTypography(this.t('confirmSubject')),
      html: juice(this.eta.render('email/confirm.html.eta', data)),
      text: this.eta.render('email/confirm.txt.eta', data),
    };
  }

  /** A small public page: `action` shows a button that POSTs, `message` just text. */
  page(view: 'action' | 'message', data: { title: string; text: string; action?: string; button?: string }): string {
    const t = this.t.bind(this);
    const body = this.eta.render(`pages/${view}.eta`, { t, ...data });
    return this.eta.render('pages/layout.eta', { t, title: data.title, body });
  }

  /**
   * The public subscribe page. Its script reads its French messages from a JSON data block
   * (never executed, so a strict CSP allows it); `<` is escaped so no string can close the block.
   */
  subscribePage(data: { topics: readonly { slug: string; label: string }[] }): string {
    const messages = Object.fromEntries(Object.entries(this.strings).filter(([k]) => k.startsWith('page.')).map(([k, v]) => [k, frenchTypography(v)]));
    const messagesJson = JSON.stringify(messages).replace(/</g, '\\u003c');
    const t = (key: string) => frenchTypography(this.t(key));
    return this.eta.render('pages/alertes.eta', { t, topics: data.topics, messagesJson });
  }
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
