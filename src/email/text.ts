// Plain-text helpers for the text part of emails, which many readers (and spam filters) do read.

/** Paragraphs of an editor's text: blank lines separate them; single line breaks are kept inside. */
export function paragraphs(s: string): string[] {
  return s
    .split(/\r?\n[ \t]*\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/**
 * Wraps at `width` columns, breaking only at ordinary spaces: no-break spaces (French « : » or
 * « 14 h 05 ») hold, and a URL longer than a line stays whole on its own line.
 */
export function wrapText(s: string, width = 72): string {
  return s
    .split('\n')
    .map((line) => {
      const out: string[] = [];
      let cur = '';
      for (const word of line.split(' ')) {
        if (cur.length > 0 && Array.from(cur).length + 1 + Array.from(word).length > width) {
          out.push(cur);
          cur = word;
        } else {
          cur = cur.length > 0 ? `${cur} ${word}` : word;
        }
      }
      out.push(cur);
      return out.join('\n');
    })
    .join('\n');
}
