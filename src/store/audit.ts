// The audit log: every editor action, in order, in one Redis stream (capped, newest kept).
// Entries name who did what to which alert; they never hold tokens or subscriber data.
import type { Keys } from './keys';
import type { RedisClient } from './redis';

/** `await_approval`: the fan-out found the audience over the threshold; `board`: a bull-board write. */
export type AuditAction =
  | 'publish'
  | 'update'
  | 'correct'
  | 'cancel'
  | 'resume'
  | 'approve'
  | 'test'
  | 'await_approval'
  | 'board'
  | 'topic-create'
  | 'topic-rename'
  | 'topic-retire'
  | 'suppression-add'
  | 'suppression-release'
  | 'webhook-create'
  | 'webhook-update'
  | 'webhook-delete';

export interface AuditEntry {
  id: string;
  at: string;
  action: AuditAction;
  editor: string;
  role: string;
  alertId?: string;
  rev?: number;
  details?: Record<string, unknown>;
}

const MAX_ENTRIES = 100_000;
const SCAN_LIMIT = 5_000;

export class AuditLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {}

  async record(e: Omit<AuditEntry, 'id' | 'at'>): Promise<string> {
    const fields: string[] = ['action', e.action, 'editor', e.editor, 'role', e.role];
    if (e.alertId) fields.push('alertId', e.alertId);
    if (e.rev !== undefined) fields.push('rev', String(e.rev));
    if (e.details) fields.push('details', JSON.stringify(e.details));
    return (await this.redis.xadd(this.k.audit, 'MAXLEN', '~', MAX_ENTRIES, '*', ...fields))!;
  }

  /** Newest first; `before` is an entry id (exclusive), `alertId` filters. */
  async list(opts: { limit: number; before?: string; alertId?: string }): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    let end = opts.before ? `(${opts.before}` : '+';
    let scanned = 0;
    while (out.length < opts.limit && scanned < SCAN_LIMIT) {
      const page = await this.redis.xrevrange(this.k.audit, end, '-', 'COUNT', opts.alertId ? 200 : opts.limit);
      if (page.length === 0) break;
      scanned += page.length;
      for (const [id, flat] of page) {
        const entry = toEntry(id, flat);
        if (!opts.alertId || entry.alertId === opts.alertId) out.push(entry);
        if (out.length >= opts.limit) break;
      }
      end = `(${page.at(-1)![0]}`;
    }
    return out;
  }
}

function toEntry(id: string, flat: string[]): AuditEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1]!;
  return {
    id,
    at: new Date(Number(id.split('-')[0])).toISOString(),
    action: f.action as AuditAction,
    editor: f.editor ?? '',
    role: f.role ?? '',
    ...(f.alertId ? { alertId: f.alertId } : {}),
    ...(f.rev ? { rev: Number(f.rev) } : {}),
    ...(f.details ? { details: JSON.parse(f.details) as Record<string, unknown> } : {}),
  };
}
