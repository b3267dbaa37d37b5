import { CommanderError } from 'commander';
import { InputError } from '../util/errors.js';

/**
 * How a failed command ends: users see one line `error: ...` and exit code 2 for everything they can fix (bad
 * options, inputs, configurations, a read-only or full disk); anything else is a bug in ealstm and says so, exit
 * code 1. Stack traces only with --debug or EALSTM_DEBUG=1.
 */
export interface ErrorOutcome {
  /** What to print on stderr (the first line starts with `error:`). */
  message: string;
  exitCode: number;
}

export const USER_ERROR_EXIT = 2;
export const INTERNAL_ERROR_EXIT = 1;

/** File-system errors that the environment causes, not the program, with what to tell the user. */
const ENVIRONMENT_ERRORS: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, expected a file',
  ENOENT: 'no such file or folder',
  EEXIST: 'already exists',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** Allocation failures: a configuration asks for more memory than there is (e.g. a huge hidden_size or batch). */
const OUT_OF_MEMORY = /Array buffer allocation failed|Invalid typed array length|WebAssembly\.Memory|Out of memory/i;

/** True when the user asked for stack traces. */
export function debugRequested(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  const flag = env.EALSTM_DEBUG;
  return argv.includes('--debug') || (flag !== undefined && flag !== '' && flag !== '0');
}

/** `error: <text>` on one line (a message's later lines, e.g. further config errors, follow it). */
function errorLine(text: string): string {
  return `error: ${text.replace(/^error:\s*/, '')}`;
}

/**
 * What to print for an error that ended a command. `helpHint` names the command's help (e.g. `ealstm evaluate
 * --help`) for usage errors.
 */
export function describeError(err: unknown, helpHint = 'ealstm --help', debug = false): ErrorOutcome {
  if (err instanceof InputError) return { message: errorLine(err.message), exitCode: USER_ERROR_EXIT };
  if (err instanceof CommanderError) {
    // commander.help: a command group was called without a command; its help has been printed already.
    const text = err.code === 'commander.help' ? 'missing command' : err.message;
    return { message: `${errorLine(text)} (see '${helpHint}')`, exitCode: USER_ERROR_EXIT };
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && ENVIRONMENT_ERRORS[e.code]) {
    const where = e.path ?? e.message;
    return { message: errorLine(`${where}: ${ENVIRONMENT_ERRORS[e.code]}${e.syscall ? ` (${e.syscall})` : ''}`), exitCode: USER_ERROR_EXIT };
  }
  if (err instanceof RangeError && OUT_OF_MEMORY.test(err.message)) {
    return {
      message: errorLine(`out of memory (${err.message}): the model or batch is too large; reduce hidden_size, batch_size or seq_length`),
      exitCode: USER_ERROR_EXIT,
    };
  }
  const what = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
  return {
    message: errorLine(
      `internal error, a bug in ealstm (please report it with the command that caused it): ${what}` +
        (debug ? '' : '; rerun with --debug or EALSTM_DEBUG=1 for the stack trace'),
    ),
    exitCode: INTERNAL_ERROR_EXIT,
  };
}

/** Prints the error (and its stack when debugging) and exits. */
export function exitWithError(err: unknown, helpHint?: string): never {
  const debug = debugRequested();
  const { message, exitCode } = describeError(err, helpHint, debug);
  console.error(message);
  if (debug && err instanceof Error && err.stack) console.error(err.stack);
  process.exit(exitCode);
}
