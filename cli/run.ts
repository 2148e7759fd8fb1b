/**
 * The command dispatcher behind `swarmlet` (cli/main.ts, every command) and the device
 * bundle (cli/agent-main.ts, the agent's commands only). Command modules load lazily, so
 * the agent never loads the gateway's HTTP server or the compiler.
 */
import { CliError, formatHelp, runCommand, type Command } from '../util/cli.js';
import { handleEpipe } from '../util/epipe.js';

export interface Group {
  name: string;
  summary: string;
  commands: Command[];
}

/** name -> [summary, loader of the module whose default export is a Command or Group] */
export type Registry = Record<string, [string, () => Promise<{ default: Command | Group }>]>;

function topHelp(registry: Registry, title: string): string {
  const w = Math.max(...Object.keys(registry).map((k) => k.length));
  return [
    title,
    '',
    'Usage: swarmlet <command> [options]   (swarmlet <command> --help for details)',
    '',
    'Every command also takes --log-format json|pretty (default: pretty on a terminal, else JSON).',
    '',
    'Commands:',
    ...Object.entries(registry).map(([k, [s]]) => `  ${k.padEnd(w)}  ${s}`),
    '',
  ].join('\n');
}

function isGroup(x: Command | Group): x is Group {
  return Array.isArray((x as Group).commands);
}

async function load(registry: Registry, name: string, missing: string): Promise<Command | Group> {
  const entry = registry[name];
  if (!entry) throw new CliError(`unknown command '${name}' (see: swarmlet --help)${missing}`);
  try {
    return (await entry[1]()).default;
  } catch (e) {
    // Only a missing command module becomes a one-line error; anything else is a real bug.
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(`/commands/${name}.js`)) {
      throw new CliError(`'${name}' is not built into this install (run: npm run build)`);
    }
    throw e;
  }
}

export interface CliOptions {
  title: string;
  /** Said after "unknown command" (e.g. which package has the rest). */
  missing?: string;
  version: () => Promise<string>;
}

/** `--log-format json|pretty` anywhere on the line applies to every command (util/log.ts). */
function takeLogFormat(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a === '--log-format' ? argv[++i] : a.startsWith('--log-format=') ? a.slice('--log-format='.length) : null;
    if (v === null) { out.push(a); continue; }
    if (v !== 'json' && v !== 'pretty') throw new CliError(`--log-format must be json or pretty, got ${JSON.stringify(v ?? '')}`);
    process.env.SWARMLET_LOG_FORMAT = v;
  }
  return out;
}

export async function dispatch(argvIn: string[], registry: Registry, o: CliOptions): Promise<number> {
  const argv = takeLogFormat(argvIn);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topHelp(registry, o.title));
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(await o.version() + '\n');
    return 0;
  }
  const target = await load(registry, name, o.missing ?? '');
  if (!isGroup(target)) return runCommand(target, rest);
  const [sub, ...subRest] = rest;
  const groupHelp = () =>
    [`${target.summary}`, '', `Usage: swarmlet ${target.name} <command> [options]`, '', 'Commands:',
      ...target.commands.map((c) => `  ${c.name.split(' ').pop()!.padEnd(10)}  ${c.summary}`), ''].join('\n');
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(groupHelp());
    return sub ? 0 : 2;
  }
  const cmd = target.commands.find((c) => c.name.split(' ').pop() === sub);
  if (!cmd) throw new CliError(`unknown command '${name} ${sub}' (see: swarmlet ${name} --help)`);
  return runCommand(cmd, subRest);
}

/** Run the CLI as the process's main program: exit codes, one-line errors, EPIPE. */
export function runCli(registry: Registry, o: CliOptions): void {
  handleEpipe();
  dispatch(process.argv.slice(2), registry, o).then(
    (code) => { process.exitCode = code; exitIfLingering(); },
    (e: unknown) => {
      if (e instanceof CliError) {
        process.stderr.write(`swarmlet: ${e.message}\n`);
        process.exitCode = e.exitCode;
      } else {
        process.stderr.write(`swarmlet: ${(e as Error)?.stack ?? String(e)}\n`);
        process.exitCode = 1;
      }
    },
  );
}

export { formatHelp };

/**
 * A command has returned (a service after its shutdown): nothing should keep the process
 * alive now. If something does (a socket or timer a library left behind), say what it is
 * and exit anyway rather than hang a supervisor's stop. The timer is unref'd: a process
 * that ends by itself never waits for it.
 */
function exitIfLingering(graceMs = 5000): void {
  setTimeout(() => {
    const what = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    process.stderr.write(`swarmlet: still running ${graceMs} ms after the command ended (${what.join(', ')}); exiting\n`);
    process.exit();
  }, graceMs).unref();
}
