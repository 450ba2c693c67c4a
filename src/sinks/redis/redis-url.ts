/** What a `redis://` or `rediss://` URL says. */
export interface RedisUrlParts {
  host: string
  port: number
  tls: boolean
  username?: string | undefined
  password?: string | undefined
  db?: number | undefined
}

/** Redis's port when the URL names none. */
export const DEFAULT_REDIS_PORT = 6379

/**
 * The problem with a Redis URL, or undefined when it is fine: `redis://[[username]:password@]host[:port][/db]`
 * (`rediss://` for TLS). A user part without a colon is the password, as ioredis and redis-cli read it
 * (`redis://secret@host`); `redis://:secret@host` is the same.
 */
export function redisUrlProblem(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'Invalid URL (expected redis://host:port or rediss://host:port)'
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return 'Invalid URL (expected redis:// or rediss://)'
  if (url.hostname === '') return 'the URL names no host'
  if (url.port === '0') return "the URL's port must be 1 to 65535"
  if (url.search !== '' || url.hash !== '') return 'the URL takes no query or fragment: give db, username, password and tls as options'
  for (const part of [url.username, url.password]) {
    try {
      decodeURIComponent(part)
    } catch {
      return "malformed percent-escape in the URL's credentials"
    }
  }
  const db = url.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db)) return `the URL's path is the db number (redis://host:6379/2), not "${db.slice(0, 20)}"`
  return undefined
}

/** Reads a URL {@link redisUrlProblem} accepted. */
export function parseRedisUrl(text: string): RedisUrlParts {
  const url = new URL(text)
  const user = decodeURIComponent(url.username)
  const pass = decodeURIComponent(url.password)
  // `redis://secret@host`: the one part is the password. `redis://alice:@host` names a user with an
  // empty password (the URL parser reads both the same: the colon is looked for in the text).
  const colon = userinfo(text).includes(':')
  const [username, password] = colon || pass !== '' ? [user === '' ? undefined : user, pass === '' ? undefined : pass] : [undefined, user === '' ? undefined : user]
  const db = url.pathname.replace(/^\//, '')
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port),
    tls: url.protocol === 'rediss:',
    username,
    password,
    db: db === '' ? undefined : Number(db),
  }
}

/** The text between `//` and the last `@` of the authority (the userinfo), or '' when there is none. */
function userinfo(text: string): string {
  const start = text.indexOf('//') + 2
  // The path (a db number), query and fragment hold no `@` in a URL redisUrlProblem accepts.
  const at = text.lastIndexOf('@')
  return at < start ? '' : text.slice(start, at)
}
