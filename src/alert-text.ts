import type { Alert, Channel } from './model';
// How a revision introduces itself to readers. A correction must say so on every channel; an
// update says so in the mail subject (on screen its push simply replaces the earlier one); a
// test is marked « TEST » everywhere so that no one can mistake it for news.

export type Strings = Record<string, string>;

export function titleFor(alert: Alert, ch: Channel, s: Strings): string {
  const prefix =
    alert.kind === 'test'
      ? s.testPrefix
      : alert.kind === 'correction'
        ? s.correctionPrefix
        : alert.kind === 'update' && ch === 'email'
          ? s.updatePrefix
          : '';
  return `${prefix ?? ''}${alert.title}`;
}

export function labelFor(alert: Alert, s: Strings): string {
  const key = { original: 'alertLabel', update: 'updateLabel', correction: 'correctionLabel', test: 'testLabel' }[alert.kind];
  return s[key] ?? key;
}

/** The revision as a channel sends it: its title carries the label. */
export function asSent(alert: Alert, ch: Channel, s: Strings): Alert {
  return { ...alert, title: titleFor(alert, ch, s) };
}
