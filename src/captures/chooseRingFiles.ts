/** A ring file as far as choosing needs: its blob name and its first packet's time. */
export interface RingFileFacts {
  name: string;
  /** ms since the epoch. */
  firstPacketAtMs: number;
}

/** The stretch of time to keep, in ms since the epoch. */
export interface KeepWindow {
  startMs: number;
  endMs: number;
}

/** Which files cover a window, and how well. */
export interface RingChoice {
  /** Oldest first. */
  chosen: RingFileFacts[];
  /** The oldest chosen file starts at or before the window (rotation had not yet deleted the window's start). */
  coversStart: boolean;
  /**
   * A listed file starts after the window's end, so the file holding the end is closed and listed: nothing more
   * will be chosen for this window. Until then the end is in the file still being written (not in storage yet).
   */
  complete: boolean;
}

/**
 * Chooses the ring files that hold packets of `window`, from their first packets' times alone: a file holds the
 * time from its first packet up to the next file's first packet (a ring writes one file after the other), and the
 * newest listed file holds everything from its first packet on. Blob names and blob times are not used: how Azure
 * names ring files is undocumented, and a blob's time is its upload, not its packets'.
 */
export function chooseRingFiles(files: readonly RingFileFacts[], window: KeepWindow): RingChoice {
  const sorted = [...files].sort((a, b) => a.firstPacketAtMs - b.firstPacketAtMs);
  const chosen = sorted.filter((file, i) => {
    const next = sorted[i + 1];
    return (
      file.firstPacketAtMs <= window.endMs && (next === undefined || next.firstPacketAtMs > window.startMs)
    );
  });
  return {
    chosen,
    coversStart: chosen.length > 0 && chosen[0]!.firstPacketAtMs <= window.startMs,
    complete: sorted.some((f) => f.firstPacketAtMs > window.endMs),
  };
}
