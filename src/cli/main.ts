// `depeche`, the newsroom's command line: publish and follow alerts, move subscribers in and out,
// make keys, read the audit log, against DEPECHE_URL with DEPECHE_TOKEN. Results go to stdout
// (one JSON document or JSON line per result with --json), errors to stderr in one line, and the
// exit code says what happened (EXIT in client.ts, listed in --help).
import { Command, CommanderError, Option } from 'commander';
import { cliConfig } from '../config/cli';
import { envLines, freshSecrets } from '../keys';
import { CliError, Client, EXIT, usage } from './client';
import { output, type Output } from './output';
import { alertBody, getAlert, publish, revise, summary, watch } from './alerts';
import { describeImport, exportTo, importFile } from './subscribers';

const HELP = `
Environment:
  DEPECHE_URL    the service, e.g. https://alertes.example.fr (default http://127.0.0.1:3000)
  DEPECHE_TOKEN  an editor secret from EDITOR_TOKENS (every command but keys)

Exit codes:
  0  done (status --watch: delivered)
  1  the service refused the request (the error code and message are printed)
  2  usage: unknown command or flag, missing DEPECHE_TOKEN, unreadable file
  3  network: the service is unreachable, timed out or answered 5xx
  4  status --watch: the alert was cancelled before being delivered`;

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function program(out: Output, client: () => Client, done: (code: number) => void): Command {
  const p = new Command('depeche')
    .description('dépêche from the command line: alerts, subscribers, keys, audit')
    .option('--json', 'machine-readable output (JSON)')
    .addHelpText('after', HELP)
    .showHelpAfterError('(depeche --help lists the commands)');

  const alertFlags = (c: Command) =>
    c
      .option('--title <text>', 'the title')
      .option('--body <text>', 'the text')
      .option('--url <url>', 'the story’s page')
      .option('--flash', 'ignore quiet hours and the gap between alerts')
      .option('--at <iso>', 'send later (ISO 8601 with offset), e.g. 2026-03-01T07:00:00+01:00');

  alertFlags(p.command('publish').description('publish an alert (flags, or a JSON file as for POST /api/alerts)'))
    .option('-f, --file <alert.json>', 'the alert as JSON; flags override its fields')
    .option('--story <slug>', 'the story it belongs to, e.g. haut-karabakh')
    .option('--topics <a,b>', 'topic slugs', list)
    .addOption(new Option('--urgency <u>', 'push urgency').choices(['very-low', 'low', 'normal', 'high']))
    .option('--channels <push,email>', 'channels', list)
    .option('--idempotency-key <key>', 'reuse the key of an earlier attempt (one is made for you otherwise)')
    .option('--watch', 'then follow delivery to the end')
    .action(async (o: Record<string, string | string[] | boolean | undefined>) => {
      const { file, idempotencyKey, watch: follow, at, ...flags } = o;
      const body = await alertBody(file as string | undefined, { ...flags, publishAt: at });
      const r = await publish(client(), body, idempotencyKey as string | undefined);
      // A replay is an earlier attempt's alert (its answer was lost): nothing was sent twice.
      const replay = r.replayed ? ', déjà reçue par le service : rien n’est envoyé deux fois' : '';
      out.result(`publiée : ${summary(r.view)} (Idempotency-Key ${r.key}${replay})`, {
        ...r.view,
        idempotencyKey: r.key,
        replayed: r.replayed,
      });
      done(follow ? await watch(client(), r.view.id, out) : EXIT.ok);
    });

  alertFlags(p.command('update <id>').description('publish an update of an alert (a title or a body)')).action(
    async (id: string, o: Record<string, string | boolean | undefined>) => {
      const v = await revise(
        client(),
        id,
        'updates',
        await alertBody(undefined, { title: o.title, body: o.body, url: o.url, flash: o.flash, publishAt: o.at }),
      );
      out.result(`mise à jour : ${summary(v)}`, v);
    },
  );

  p.command('correct <id>')
    .description('publish a correction to those who received the alert')
    .requiredOption('--title <text>', 'the corrected title')
    .requiredOption('--body <text>', 'what was corrected')
    .option('--flash', 'ignore quiet hours')
    .action(async (id: string, o: { title: string; body: string; flash?: boolean }) => {
      const v = await revise(client(), id, 'corrections', await alertBody(undefined, o));
      out.result(`rectificatif : ${summary(v)}`, v);
    });

  p.command('cancel <id>')
    .description('kill switch: stop sending an alert now')
    .action(async (id: string) => {
      const v = await revise(client(), id, 'cancel');
      out.result(`annulée : ${summary(v)}`, v);
    });

  p.command('status <id>')
    .description('an alert’s status and figures; --watch follows it until delivered')
    .option('-w, --watch', 'progress bars per channel, live; exits 0 when delivered, 4 when cancelled')
    .option('--timeout <seconds>', 'with --watch: give up (exit 3) after this long', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw usage('--timeout must be a positive number of seconds');
      return n;
    })
    .action(async (id: string, o: { watch?: boolean; timeout?: number }) => {
      if (o.watch) {
        done(await watch(client(), id, out, o.timeout));
        return;
      }
      const v = await getAlert(client(), id);
      out.result(summary(v), v);
    });

  const subs = p.command('subscribers').description('push subscribers in and out, as NDJSON');
  subs
    .command('import <file>')
    .description('stream an NDJSON file to POST /api/subscriptions/push/import')
    .action(async (file: string) => {
      const s = await importFile(client(), file, out);
      out.result(describeImport(s), s);
    });
  subs
    .command('export')
    .description('every push subscriber as NDJSON (to stdout, or --output)')
    .option('-o, --output <file>', 'write to this file')
    .action(async (o: { output?: string }) => {
      const n = await exportTo(client(), o.output, out);
      if (o.output !== undefined) out.result(`${n} abonnés exportés dans ${o.output}`, { exported: n, file: o.output });
    });

  p.command('keys')
    .description('a fresh VAPID pair and secrets, as lines for .env (nothing is stored)')
    .action(() => {
      const secrets = freshSecrets();
      if (out.json) out.line(JSON.stringify(secrets));
      else out.stdout.write(envLines(secrets));
    });

  p.command('audit')
    .description('editor actions, newest first')
    .option('--limit <n>', 'how many (1-500)', '50')
    .option('--alert <id>', 'only this alert')
    .option('--before <entry-id>', 'older than this entry')
    .action(async (o: { limit: string; alert?: string; before?: string }) => {
      const q = new URLSearchParams({ limit: o.limit, ...(o.alert ? { alert: o.alert } : {}), ...(o.before ? { before: o.before } : {}) });
      const { entries } = (await client().call('GET', `/api/audit?${q.toString()}`)).json as { entries: Record<string, unknown>[] };
      if (out.json) {
        out.line(JSON.stringify({ entries }));
        return;
      }
      for (const e of entries) {
        const alert = typeof e.alertId === 'string' ? ` ${e.alertId}${typeof e.rev === 'number' ? ` rév. ${e.rev}` : ''}` : '';
        out.line(`${String(e.at)}  ${String(e.editor)} (${String(e.role)})  ${String(e.action)}${alert}`);
      }
    });
  return p;
}

/** Runs one command line; resolves to its exit code. */
export async function run(argv: string[] = process.argv.slice(2), env?: NodeJS.ProcessEnv): Promise<number> {
  const out = output(argv.includes('--json'));
  let code: number = EXIT.ok;
  let client: Client | undefined;
  const getClient = () => (client ??= new Client(cliConfig(env)));
  const p = program(out, getClient, (c) => (code = c));
  p.exitOverride();
  for (const c of p.commands) c.exitOverride();
  try {
    await p.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed its message (or the help, or the version).
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const e =
      err instanceof CliError
        ? err
        : new CliError(err instanceof Error && /DEPECHE_/.test(err.message) ? EXIT.usage : EXIT.network, (err as Error).message);
    out.stderr.write(`depeche: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
    return e.exitCode;
  }
}
