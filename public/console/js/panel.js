// @ts-check
// What the console's editing panels (topics, suppressions) share: run a change, say how it went
// in the flash line or the panel's error box, then reload what it changed.
import { ApiFailure } from './api.js';

/**
 * @param {HTMLElement} errorBox
 * @param {(text: string) => void} flash
 * @param {() => Promise<void>} reload
 * @returns {(change: () => Promise<string>) => Promise<boolean>}
 */
export function applier(errorBox, flash, reload) {
  return async (change) => {
    errorBox.textContent = '';
    try {
      flash(await change());
    } catch (err) {
      errorBox.textContent = err instanceof ApiFailure ? err.message : String(err);
      return false;
    }
    await reload();
    return true;
  };
}
