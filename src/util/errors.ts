/** An error the user can cause (input data, configuration, options), with the file/line/key/basin it concerns. */
export class InputError extends Error {
  override name = 'InputError';
}

/**
 * One InputError for the problems found in a file (each message already names file:line): a single problem as it
 * is, several after a first line naming the file and their count, so the line the CLI prints after `error:`
 * always names the file.
 */
export function fileProblems(file: string, what: string, messages: string[]): InputError {
  return new InputError(messages.length === 1 ? messages[0] : `${what} ${file}: ${messages.length} problems\n${messages.join('\n')}`);
}
