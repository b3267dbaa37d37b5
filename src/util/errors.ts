/** An error the user can cause (input data, configuration, options), with the file/line/key/basin it concerns. */
export class InputError extends Error {
  override name = 'InputError';
}
