// @ts-check
// Live previews of the draft: the notification as a desktop and a phone show it, the push
// payload's size against the 4 KB limit, the email as the real templates render it, and how many
// subscribers each channel would reach.
import { $, clip, fmt, plural } from './dom.js';

/**
 * How many characters each surface shows before cutting (approximate: it depends on the font and
 * the screen). Chrome on Windows shows a one-line title and about three lines of text; Android's
 * collapsed notification one line of each.
 */
export const SURFACES = {
  desktop: { title: 60, body: 130 },
  phone: { title: 40, body: 48 },
};

/** @typedef {{ title: string, body: string, url: string, image?: string, story: string, topics: string[], urgency: string, channels: string[], flash?: boolean, publishAt?: string, titleEn?: string, bodyEn?: string }} Draft */

/** @param {Draft} draft */
export function showNotifications(draft) {
  for (const [name, limits] of Object.entries(SURFACES)) {
    const card = $(`#pv-${name}`);
    const title = $('.notif-title', card);
    const body = $('.notif-body', card);
    title.textContent = draft.title ? clip(draft.title, limits.title) : 'Titre de l’alerte';
    title.classList.toggle('placeholder', !draft.title);
    body.textContent = clip(draft.body, limits.body);
    $('.site', card).textContent = draft.url ? safeHost(draft.url) : location.hostname;
    // The picture as the reader's system loads it (https only); the two buttons every alert has.
    const image = /** @type {HTMLImageElement} */ ($('.notif-image', card));
    const src = draft.image && /^https:\/\/[^\s]+$/.test(draft.image) ? draft.image : '';
    if (image.getAttribute('src') !== src) {
      if (src) image.src = src;
      else image.removeAttribute('src');
    }
    image.hidden = !src;
    card.classList.toggle('muted-card', !draft.channels.includes('push'));
  }
}

/** @param {string} url */
function safeHost(url) {
  try {
    return new URL(url).hostname;
  } catch {
    return location.hostname;
  }
}

/**
 * @param {{ bytes: number, limit: number, truncated: boolean, titleFits: boolean }} push
 */
export function showGauge(push) {
  const meter = /** @type {HTMLMeterElement} */ ($('#gauge-meter'));
  meter.max = push.limit;
  meter.value = Math.min(push.bytes, push.limit);
  const pct = Math.round((push.bytes / push.limit) * 100);
  const text = $('#gauge-text');
  const size = `${fmt(push.bytes)} octets sur ${fmt(push.limit)}`;
  if (!push.titleFits)
    text.textContent = `${size} : même sans texte, ce titre ne tient pas dans une notification. Raccourcissez le titre, le lien ou les rubriques.`;
  else if (push.truncated) text.textContent = `${size} : trop long, la fin du texte sera coupée (« … ») dans la notification.`;
  else text.textContent = `${size} (${pct}\u202f%)`;
  text.classList.toggle('error', !push.titleFits || push.truncated);
  $('#gauge').dataset.bytes = String(push.bytes);
}

/** @param {{ subject: string, frame: string }} email @param {boolean} selected */
export function showEmail(email, selected) {
  $('#email-subject').textContent = email.subject || '—';
  const frame = /** @type {HTMLIFrameElement} */ ($('#email-frame'));
  if (frame.getAttribute('src') !== email.frame) frame.src = email.frame;
  frame.closest('.email-preview')?.classList.toggle('muted-card', !selected);
}

/** @param {string} message */
export function showPreviewError(message) {
  $('#preview-error').textContent = message;
}

/** @typedef {{ push: number, email: number, topics: string[] }} AudienceCounts */

/** @param {AudienceCounts | null} counts @param {string[]} channels */
export function showAudience(counts, channels) {
  for (const ch of ['push', 'email']) {
    const li = $(`#audience [data-channel="${ch}"]`);
    const n = counts ? counts[/** @type {'push' | 'email'} */ (ch)] : null;
    li.classList.toggle('off', !channels.includes(ch));
    $('.count', li).textContent = n === null ? '…' : audienceText(n, ch, channels.includes(ch));
    li.dataset.count = n === null ? '' : String(n);
  }
}

/** @param {number} n @param {string} ch @param {boolean} selected */
export function audienceText(n, ch, selected) {
  const who = plural(n, ch === 'push' ? 'abonné push' : 'abonné par courriel', ch === 'push' ? 'abonnés push' : 'abonnés par courriel');
  return selected ? who : `${who} (canal non retenu)`;
}
