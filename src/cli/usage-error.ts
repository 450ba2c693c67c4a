/**
 * A mistake on the command line (an unknown flag, a flag without its value, a file that cannot be
 * read): the command prints the message with a pointer to `--help` and exits 2, nothing sent.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Exit codes shared by every command: see docs/cli.md. */
export const EXIT = Object.freeze({
  /** Every record delivered (or spooled for the next start). */
  ok: 0,
  /** Some record failed (dead-lettered counts as failed) or was dropped. */
  undelivered: 1,
  /** Usage or configuration error: nothing was sent. */
  usage: 2,
})
