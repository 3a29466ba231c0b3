// Errors of the durability layer.

/**
 * Damage in a journal segment, snapshot or store file that recovery cannot repair by itself.
 * The message names the file (relative to the data directory) and the byte offset.
 */
export class CorruptionError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`${file}: ${reason} at byte offset ${offset}`);
    this.name = 'CorruptionError';
  }
}
