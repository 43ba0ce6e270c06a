/**
 * The shape of a CLI command and the argument parsing every command shares (node:util parseArgs),
 * with `--help` text generated from the same option table, so help never drifts from behaviour.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '@mcp0/abi';

/** One option of a command. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Shown in --help, e.g. `<file>`. */
  arg?: string;
  description: string;
}

/** Where a command writes. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Parsed arguments. */
export interface Args {
  positionals: string[];
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
}

/** A CLI command. `run` returns the exit code. */
export interface Command {
  name: string;
  summary: string;
  /** The synopsis after `mcp0 <name> `. */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Extra help text: arguments, examples. */
  details?: string;
  run(args: Args, io: Io): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  debug: { type: 'boolean', description: 'print stack traces of errors' },
};

/** Parse argv for `command`; unknown options and missing values are usage errors (exit 2). */
export function parseCommandArgs(command: Command, argv: string[]): Args {
  const options = Object.fromEntries(
    Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([name, o]) => [
      name,
      { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({ args: bindDashValues(argv, options), options, allowPositionals: true, strict: true });
    return { values: values as Args['values'], positionals };
  } catch (e) {
    // Keep Node's whole message: its later lines say how to fix it (e.g. `--trust=-XYZ` for a value starting with "-").
    throw new UsageError('EUSAGE', `${(e as Error).message.split('\n').join(' ')}\nusage: mcp0 ${command.name} ${command.usage}`);
  }
}

/** A key id (an RFC 7638 thumbprint, 43 base64url characters) that starts with "-", as one in 64 does. */
const DASHED_KEY_ID = /^-[A-Za-z0-9_-]{42}$/;

/**
 * Key ids are base64url, so one in 64 starts with "-", which parseArgs reads as an option. This
 * joins `--name value` into `--name=value` where `name` takes a string and the value starts with
 * "-" without being an option this command knows (`--consumer -Xy…`), and moves the positionals
 * after a `--` when one of them is such a key id (`keyring remove -Xy…`), keeping their order.
 * @example
 * bindDashValues(['-Xy…', '--keyring', 'k'], { keyring: { type: 'string' } }) // ['--keyring=k', '--', '-Xy…']
 */
export function bindDashValues(argv: string[], options: Record<string, { type: string; short?: string }>): string[] {
  const isOption = (t: string): boolean =>
    t === '--' ||
    (t.startsWith('--') ? t.slice(2).split('=')[0]! in options : Object.values(options).some((o) => o.short !== undefined && t === `-${o.short}`));
  const flags: string[] = [];
  const positionals: string[] = [];
  let dashed = false;
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    const next = argv[i + 1];
    if (t === '--') {
      positionals.push(...argv.slice(i + 1));
      return [...flags, '--', ...positionals];
    }
    const named =
      t.startsWith('--') && !t.includes('=') ? options[t.slice(2)] : Object.values(options).find((o) => o.short !== undefined && t === `-${o.short}`);
    const takesValue = named?.type === 'string';
    if (takesValue && next !== undefined && (!next.startsWith('-') || !isOption(next))) {
      flags.push(t.startsWith('--') ? `${t}=${next}` : t, ...(t.startsWith('--') ? [] : [next]));
      i++;
    } else if (t.startsWith('-') && t !== '-' && !DASHED_KEY_ID.test(t)) flags.push(t);
    else {
      dashed ||= DASHED_KEY_ID.test(t);
      positionals.push(t);
    }
  }
  return dashed ? [...flags, '--', ...positionals] : [...flags, ...positionals];
}

/** The --help text of a command. */
export function helpText(command: Command): string {
  const rows = Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ` ${o.arg}` : ''}`;
    return `  ${flag.padEnd(30)} ${o.description}${o.multiple ? ' (repeatable)' : ''}`;
  });
  return [
    `mcp0 ${command.name}: ${command.summary}`,
    '',
    `usage: mcp0 ${command.name} ${command.usage}`,
    '',
    'options:',
    ...rows,
    ...(command.details ? ['', command.details] : []),
    '',
  ].join('\n');
}

/** The string value of an option, or a usage error naming it when it is required and missing. */
export function stringOption(args: Args, name: string, required: true): string;
export function stringOption(args: Args, name: string, required?: false): string | undefined;
export function stringOption(args: Args, name: string, required = false): string | undefined {
  const v = args.values[name];
  if (v === undefined && required) throw new UsageError('EUSAGE', `--${name} is required`);
  return typeof v === 'string' ? v : undefined;
}

/** The values of a repeatable string option. */
export function listOption(args: Args, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];
}

/** An integer option within bounds, or a usage error saying what was expected and what came. */
export function intOption(args: Args, name: string, min: number, max: number): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError('EUSAGE', `--${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** Exactly `count` positionals, or a usage error. */
export function positionals(args: Args, command: Command, min: number, max = min): string[] {
  const p = args.positionals;
  if (p.length < min || p.length > max) {
    throw new UsageError(
      'EUSAGE',
      `expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${p.length}\nusage: mcp0 ${command.name} ${command.usage}`,
    );
  }
  return p;
}
