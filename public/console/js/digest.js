// @ts-check
// The daily-digest line under the topics: when the next digest leaves, and what the last run did.
import { $, fmt, plural, when } from './dom.js';
import { api } from './api.js';

/**
 * @typedef {{ at: string, groups: number, targeted: number, sent: number, failed: number, bounced: number, empty: number, suppressed?: number, pending: number }} Run
 * @typedef {{ nextRun: { at: string, timeZone: string, time: string } | null, readers: number, lastRun: Run | null }} DigestState
 */

export async function loadDigest() {
  const box = $('#digest-state');
  const d = /** @type {DigestState} */ (/** @type {unknown} */ (await api('GET', '/api/digest')));
  const next = d.nextRun
    ? `Prochain résumé : ${when(d.nextRun.at)} (${d.nextRun.time}, ${d.nextRun.timeZone}).`
    : 'Aucun lecteur n’a choisi le résumé quotidien.';
  const readers = `${plural(d.readers, 'lecteur', 'lecteurs')} au résumé.`;
  const r = d.lastRun;
  const last = r
    ? `Dernier passage ${when(r.at)} : ${fmt(r.sent)} envoyé(s) sur ${fmt(r.targeted)}, ${fmt(r.empty)} sans alerte, ${fmt(r.failed + r.bounced)} échec(s)${r.suppressed ? `, ${fmt(r.suppressed)} adresse(s) suspendue(s)` : ''}${r.pending > 0 ? `, ${fmt(r.pending)} en attente` : ''}.`
    : '';
  box.textContent = [next, readers, last].filter((x) => x).join(' ');
}
