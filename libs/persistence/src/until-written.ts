/**
 * A bookkeeping write tried again while the database is away for a moment (a restart, a full disk being freed):
 * up to about 23 s, 0.25, 0.5, 1, 2, 4, 5, 5, 5 s apart, then the last error is thrown. Used where giving up
 * would leave work claimed until a takeover much later (a drift report, an erasure's claim, a created list's name claim).
 */
export async function untilWritten<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= 8) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)));
    }
  }
}
