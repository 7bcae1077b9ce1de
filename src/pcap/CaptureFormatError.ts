/**
 * A capture file that is not a pcap/pcapng file, is corrupt, or ends in the middle of a record.
 * Carries the byte offset where reading stopped so the on-call person (or a hex editor) can find the damage.
 */
export class CaptureFormatError extends Error {
  /** Absolute byte offset in the file of the header, record or block that could not be read. */
  readonly offset: number;

  /**
   * @param message - What was wrong, in plain words; the offset is appended.
   * @param offset - Absolute byte offset of the damaged structure.
   */
  constructor(message: string, offset: number) {
    super(`${message} at byte offset ${offset}`);
    this.name = 'CaptureFormatError';
    this.offset = offset;
  }
}
