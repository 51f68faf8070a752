// Topics belong to the newsroom: a test that subscribes readers to its own topics creates them
// first, as an editor would (PAGE_TOPICS' defaults, such as sport, exist from the start).
import assert from 'node:assert/strict';
import { editor, type Stack } from './stack';

/** Creates these topics through the editor API; one that exists already is fine. */
export async function ensureTopics(s: Stack, slugs: readonly string[]): Promise<void> {
  for (const slug of slugs) {
    const r = await s.api('POST', '/api/topics', { slug, label: slug }, editor());
    assert.ok(r.status === 201 || String(r.json?.error?.code) === 'topic_exists', `topic ${slug}: ${r.status} ${r.text}`);
  }
}
