import { levelBucket } from '../../queue/record-buffer.js'
import type { PostRequest } from './webhook-poster.js'

/** Most posts waiting behind the one being sent. */
export const MAX_WAITING_POSTS = 100
/** Most bytes of post bodies waiting. */
export const MAX_WAITING_POST_BYTES = 32 * 1024 * 1024
/** A post body this large or larger is never sent (dropped as `oversize`); no format makes one. */
export const MAX_POST_BYTES = 2 * 1024 * 1024

/**
 * One message on its way to the webhook, standing for the log records it carries: the ledger counts
 * those records, the alert counters count the post.
 */
export interface AlertPost extends PostRequest {
  /** Order of making: flush() waits for every post up to the newest one made. */
  readonly seq: number
  /** Highest level among its records: a full backlog gives way lowest level first. */
  readonly level: number
  /** Log records the post carries. */
  readonly records: number
  /** Bytes of their lines (what the ledger counts as queued). */
  readonly recordBytes: number
  /** Delivered, failed or dropped: set once. */
  settled: boolean
}

/**
 * Posts waiting for the posting worker, oldest first. Bounded by {@link MAX_WAITING_POSTS} posts and
 * {@link MAX_WAITING_POST_BYTES} bytes: posts are few (at most `maxAlertsPerWindow` a window), so only a
 * webhook that stalls for long fills it. Then the oldest post of the lowest level gives way, or the
 * newcomer when every waiting post is of a higher level. Levels compare by their decade
 * ({@link levelBucket}), as the record queues do.
 */
export class PostBacklog {
  #posts: AlertPost[] = []
  #bytes = 0

  get size(): number {
    return this.#posts.length
  }

  /** Seq of the oldest waiting post (Infinity when none waits). */
  oldestSeq(): number {
    return this.#posts[0]?.seq ?? Number.POSITIVE_INFINITY
  }

  fits(post: AlertPost): boolean {
    return this.#posts.length < MAX_WAITING_POSTS && this.#bytes + post.body.length <= MAX_WAITING_POST_BYTES
  }

  /**
   * Makes room for `post`, handing each post it evicts to `evicted`. False when `post` itself gives
   * way: every waiting post is of a higher level.
   */
  makeRoom(post: AlertPost, evicted: (victim: AlertPost) => void): boolean {
    const incoming = levelBucket(post.level)
    while (!this.fits(post)) {
      const index = this.#oldestOfLowest()
      const victim = index < 0 ? undefined : this.#posts[index]
      if (!victim || levelBucket(victim.level) > incoming) return false
      this.#posts.splice(index, 1)
      this.#bytes -= victim.body.length
      evicted(victim)
    }
    return true
  }

  push(post: AlertPost): void {
    this.#posts.push(post)
    this.#bytes += post.body.length
  }

  /** The oldest waiting post, taken out. */
  shift(): AlertPost | undefined {
    const post = this.#posts.shift()
    if (post) this.#bytes -= post.body.length
    return post
  }

  /** Takes everything out (at the close deadline), oldest first. */
  drain(): AlertPost[] {
    const posts = this.#posts
    this.#posts = []
    this.#bytes = 0
    return posts
  }

  /** Index of the oldest post of the lowest level bucket, -1 when none waits. */
  #oldestOfLowest(): number {
    let found = -1
    let lowest = Number.POSITIVE_INFINITY
    this.#posts.forEach((post, index) => {
      const bucket = levelBucket(post.level)
      if (bucket < lowest) {
        lowest = bucket
        found = index
      }
    })
    return found
  }
}
