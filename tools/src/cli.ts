/**
 * The `mcp0` command line: dispatch, help, and one error policy. Errors go to stderr as
 * `mcp0 <cmd>: <CODE>: message`, with a stack trace only under --debug. Exit codes follow one rule
 * (`exitCode` below, the README's table): 2 the command could not run as asked (usage, an input
 * file missing or unreadable, a module that would not load), 1 a failed check or call, 0 success.
 */
import { readFileSync } from 'node:fs';
import { ABI_VERSION, LoadError, Mcp0Error, UsageError } from '@mcp0/abi';
import { type Args, type Command, type Io, helpText, parseCommandArgs, stringOption } from './command.js';
import { agreement } from './commands/agreement.js';
import { agent } from './commands/agent.js';
import { build } from './commands/build.js';
import { call } from './commands/call.js';
import { conformanceCommand } from './commands/conformance.js';
import { dist } from './commands/dist.js';
import { inspect } from './commands/inspect.js';
import { keygen } from './commands/keygen.js';
import { keyring } from './commands/keyring.js';
import { mcp } from './commands/mcp.js';
import { scaffold } from './commands/new.js';
import { pack } from './commands/pack.js';
import { remote } from './commands/remote.js';
import { sign } from './commands/sign.js';
import { start } from './commands/start.js';
import { store } from './commands/store.js';
import { trace } from './commands/trace.js';
import { verify } from './commands/verify.js';
import { thumbprints } from './trust.js';

/** Every command, in the order `mcp0 --help` lists them. */
export const COMMANDS: readonly Command[] = [
  keygen,
  keyring,
  scaffold,
  build,
  pack,
  sign,
  verify,
  inspect,
  call,
  start,
  agent,
  trace,
  remote,
  mcp,
  store,
  dist,
  agreement,
  conformanceCommand,
];

const stdio: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

function overview(): string {
  return [
    'mcp0: build, sign, verify, inspect and run MCP-ZERO plugins',
    '',
    'usage: mcp0 <command> [options]',
    '       mcp0 help <command> | mcp0 --version',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    "mcp0 <command> --help (or mcp0 help <command>) shows a command's options.",
    '',
  ].join('\n');
}

/** `mcp0 --version`: this package's version and the plugin ABI it speaks. */
function version(): string {
  const { version: v } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return `mcp0 ${v} (plugin ABI v${ABI_VERSION}, node ${process.version})\n`;
}

/**
 * Run the CLI on `argv` (without node and script); resolves to the exit code.
 * @example
 * process.exitCode = await main(['verify', 'hello.wasm', '--trust', 'pub.jwk'])
 */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(version());
    return 0;
  }
  if (name === 'help' && rest.length > 0) {
    const topic = COMMANDS.find((c) => c.name === rest[0]);
    if (!topic) {
      io.err(`mcp0 help: unknown command ${JSON.stringify(rest[0])}\n\n${overview()}`);
      return 2;
    }
    io.out(helpText(topic));
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`mcp0: unknown command ${JSON.stringify(name)}\n\n${overview()}`);
    return 2;
  }
  const debug = rest.includes('--debug');
  let args: Args | undefined;
  try {
    args = parseCommandArgs(command, rest);
    if (args.values.help) {
      io.out(helpText(command));
      return 0;
    }
    return await command.run(args, io);
  } catch (e) {
    // Trust failures name signers by wasmsign2 hex ids; show the thumbprints the keyring knows.
    const text = await thumbprints(describeError(e), args ? stringOption(args, 'keyring') : undefined);
    io.err(`mcp0 ${command.name}: ${text}\n`);
    if (debug && e instanceof Error && e.stack) io.err(`${e.stack}\n`);
    return exitCode(e);
  }
}

/** Errors of a path the user named: it does not exist, cannot be read, or is a folder. */
const FILE_ERRNOS = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EPERM']);

/**
 * The one exit-code rule (README, "Exit codes"): 2 when the command could not run as asked (its
 * arguments, a file it was given, a module or distribution that does not load), 1 when it ran and
 * something failed. Commands whose job is a check (verify, conformance) return 1 themselves for
 * what they were asked to check.
 */
function exitCode(e: unknown): 1 | 2 {
  if (e instanceof UsageError || e instanceof LoadError || (e instanceof Mcp0Error && e.code === 'EUSAGE')) return 2;
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  return !(e instanceof Mcp0Error) && typeof errno === 'string' && FILE_ERRNOS.has(errno) ? 2 : 1;
}

function describeError(e: unknown): string {
  if (e instanceof Mcp0Error) return `${e.code}: ${e.message}`;
  const errno = (e as NodeJS.ErrnoException).code;
  if (errno !== undefined && FILE_ERRNOS.has(errno)) {
    // Node's own messages already start with the code ("ENOENT: no such file…"): say it once.
    const message = (e as Error).message;
    return message.startsWith(`${errno}:`) ? message : `${errno}: ${message}`;
  }
  return e instanceof Error ? e.message : String(e);
}
