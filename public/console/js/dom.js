// @ts-check
// Small DOM helpers. Text always goes in through textContent, never as HTML, so nothing an
// editor or a reader typed can become markup.

/**
 * @template {Element} [T=HTMLElement]
 * @param {string} selector
 * @param {ParentNode} [root]
 * @param {new () => T} [type]
 * @returns {T}
 */
export function $(selector, root = document, type) {
  const el = root.querySelector(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  if (type && !(el instanceof type)) throw new Error(`${selector} is not a ${type.name}`);
  return /** @type {T} */ (el);
}

/**
 * Creates an element: h('p', { class: 'x' }, 'text', child).
 * @param {string} tag
 * @param {Record<string, string | number | boolean | undefined>} [attrs]
 * @param {(Node | string | null | undefined | false)[]} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const numbers = new Intl.NumberFormat('fr-FR');
/** @param {number} n */
export const fmt = (n) => numbers.format(n);

/** @param {number} n @param {string} one @param {string} many */
export const plural = (n, one, many) => `${fmt(n)} ${n <= 1 ? one : many}`;

const time = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', weekday: 'short', day: 'numeric', month: 'short' });

/** « 14:05 » today, « mer. 20 sept., 14:05 » otherwise. @param {string} iso */
export function when(iso) {
  const d = new Date(iso);
  const today = day.format(new Date()) === day.format(d);
  return today ? time.format(d) : `${day.format(d)}, ${time.format(d)}`;
}

/**
 * Cuts text to at most `max` user-perceived characters (grapheme clusters: an accented letter or
 * an emoji counts as one and is never split), ending with « … » when cut.
 * @param {string} text @param {number} max
 */
export function clip(text, max) {
  const seg = new Intl.Segmenter('fr', { granularity: 'grapheme' });
  const parts = Array.from(seg.segment(text), (s) => s.segment);
  if (parts.length <= max) return text;
  return `${parts
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

/** Calls fn once things have been quiet for `ms`. @param {() => void} fn @param {number} ms */
export function debounce(fn, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let t;
  return () => {
    clearTimeout(t);
    t = setTimeout(fn, ms);
  };
}
