// Rate windows as sliding minutes of 100 ms buckets: each window keeps a weight per bucket and
// their total, so a decision costs the same at 1 or 10,000 requests a minute (a log of every
// request made it grow with the rate). Both stores (SQLite, the Redis scripts) use these sums.

/** The window: a minute. */
export const WINDOW_MS = 60_000;
/** A bucket: a request counts for at most this much longer than a minute, never shorter. */
export const BUCKET_MS = 100;

/**
 * The bucket a request at `now` counts in: bucket b holds the times in ((b - 1) * BUCKET_MS,
 * b * BUCKET_MS] and leaves the window at b * BUCKET_MS + WINDOW_MS, so a request is counted
 * for a minute at least (exactly a minute when `now` falls on a bucket's edge).
 */
export const bucketOf = (now: number): number => Math.ceil(now / BUCKET_MS);

/** Buckets at or below this have left the window at `now`. */
export const lastExpiredBucket = (now: number): number => Math.floor((now - WINDOW_MS) / BUCKET_MS);

/** Ms from `now` until bucket `b` leaves the window. */
export const untilExpired = (b: number, now: number): number => b * BUCKET_MS + WINDOW_MS - now;
