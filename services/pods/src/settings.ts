/*
 * Fixed settings of the pods service, in one place. What operators tune is in env.ts.
 */

/**
 * A placement whose pod was never created (a creation interrupted between its two appends) is released once it
 * is this old. A creation normally takes well under a second between the two, so one still under way is never
 * mistaken for an abandoned one.
 */
export const STALE_PLACEMENT_MS = 60_000;

/** A node name claim whose node was never added is taken over once it is this old (same reasoning). */
export const STALE_NAME_CLAIM_MS = 60_000;

/**
 * How often a placement on a node's aggregate may lose the race to a concurrent one before the caller gets
 * `conflict`. Every round has a winner, so N concurrent creations on one node need at most N attempts.
 */
export const PLACEMENT_ATTEMPTS = 200;
