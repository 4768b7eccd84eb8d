import type { TakeHorizon } from '../db/outbox.js';

/**
 * Where the relay's takes start: below the floor, every outbox row has a
 * position or never will (its transaction rolled back), so a take scans only
 * above it instead of walking every row positioned since the last VACUUM.
 *
 * A take that positioned rows vouches for the ids up to the newest one it
 * could see: whatever committed at or below it later belongs to a transaction
 * older than the take's own (the outbox-scan-floor migration says why). Once a
 * later take finds every transaction up to that one ended and, asking for more
 * than there was, took everything above the floor, nothing at or below it can
 * still come: the floor rises to it. Takes are of one leader session, in turn;
 * a new leader starts from zero.
 */
export class RelayFloor {
  private floor = 0n;
  /** Takes not yet vouched for, oldest first. */
  private pending: { newestId: bigint; taker: bigint }[] = [];

  /** The id the next take scans above. */
  get afterId(): string {
    return this.floor.toString();
  }

  /** `complete`: the take asked for more rows than it got, so it took every row above the floor it could see. */
  observe(horizon: TakeHorizon, complete: boolean): void {
    if (complete) {
      let ended = 0;
      while (ended < this.pending.length && this.pending[ended]!.taker < horizon.oldestRunning) {
        const { newestId } = this.pending[ended]!;
        if (newestId > this.floor) this.floor = newestId;
        ended += 1;
      }
      this.pending.splice(0, ended);
    }
    if (horizon.taker === null || horizon.newestId === null) return;
    // While one transaction stays open nothing is vouched for: merging the two newest keeps this
    // bounded, and waits for the later of the two transactions, which is never too early.
    const newest = this.pending[this.pending.length - 1];
    if (this.pending.length >= MAX_PENDING && newest) {
      newest.newestId = horizon.newestId > newest.newestId ? horizon.newestId : newest.newestId;
      newest.taker = horizon.taker > newest.taker ? horizon.taker : newest.taker;
      return;
    }
    this.pending.push({ newestId: horizon.newestId, taker: horizon.taker });
  }

  reset(): void {
    this.floor = 0n;
    this.pending = [];
  }
}

const MAX_PENDING = 64;
