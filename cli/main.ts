/**
 * `swarmlet <command>`: one CLI for every part. Command modules load lazily, so the agent
 * on a small device never loads the gateway's HTTP server or the compiler.
 */
import { CliError, formatHelp, runCommand, type Command } from '../util/cli.js';

export interface Group {
  name: string;
  summary: string;
  commands: Command[];
}

/** name -> [summary, module under cli/commands/ whose default export is a Command or Group] */
const REGISTRY: Record<string, [string, string]> = {
  up: ['run the whole local mesh: broker, gateway with dashboard, simulated devices', 'up'],
  agent: ['run the device agent', 'agent'],
  broker: ['run an MQTT broker with device auth, ACLs, limits and bridges', 'broker'],
  gateway: ['run a regional gateway: scheduler, verifier, ledger, HTTP API, dashboard', 'gateway'],
  sim: ['run a fleet of simulated devices (real agents, simulated sensors)', 'sim'],
  job: ['submit jobs to a gateway and follow them', 'job'],
  task: ['build and run wasm tasks locally', 'task'],
  proof: ['check receipt inclusion proofs offline', 'proof'],
  keys: ['create and inspect Ed25519 device keys', 'keys'],
  token: ['operator API tokens of a gateway: create, list, revoke', 'token'],
  enroll: ['which device keys may join: add, list, revoke, readmit, deny (the enrollment file)', 'enroll'],
};

function topHelp(): string {
  const w = Math.max(...Object.keys(REGISTRY).map((k) => k.length));
  return [
    'swarmlet: turn idle edge devices into a compute mesh',
    '',
    'Usage: swarmlet <command> [options]   (swarmlet <command> --help for details)',
    '',
    'Commands:',
    ...Object.entries(REGISTRY).map(([k, [s]]) => `  ${k.padEnd(w)}  ${s}`),
    '',
  ].join('\n');
}

function isGroup(x: Command | Group): x is Group {
  return Array.isArray((x as Group).commands);
}

async function load(name: string): Promise<Command | Group> {
  const entry = REGISTRY[name];
  if (!entry) throw new CliError(`unknown command '${name}' (see: swarmlet --help)`);
  const url = new URL(`./commands/${entry[1]}.js`, import.meta.url);
  try {
    const mod = (await import(url.href)) as { default: Command | Group };
    return mod.default;
  } catch (e) {
    // Only a missing command module becomes a one-line error; anything else is a real bug.
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(url.pathname)) {
      throw new CliError(`'${name}' is not built into this install (run: npm run build)`);
    }
    throw e;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topHelp());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    const { readFileSync } = await import('node:fs');
    const { projectRoot } = await import('../util/paths.js');
    process.stdout.write(JSON.parse(readFileSync(`${projectRoot()}/package.json`, 'utf8')).version + '\n');
    return 0;
  }
  const target = await load(name);
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

export { formatHelp };

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
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
