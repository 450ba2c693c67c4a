import { describe, expect, it } from 'vitest'
import { classifyRedisError } from '../../../src/sinks/redis/redis-errors.js'
import { replyError, socketError } from './fake-redis.js'

describe('classifyRedisError', () => {
  it.each([
    // The server's words, as Redis 7 says them.
    ["OOM command not allowed when used memory > 'maxmemory'.", 'OOM'],
    ["READONLY You can't write against a read only replica.", 'READONLY'],
    ['LOADING Redis is loading the dataset in memory', 'LOADING'],
    ['BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.', 'BUSY'],
    ['TRYAGAIN Multiple keys request during rehashing of slot', 'TRYAGAIN'],
    ['MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.', 'MASTERDOWN'],
    ['CLUSTERDOWN The cluster is down', 'CLUSTERDOWN'],
    ['NOREPLICAS Not enough good replicas to write.', 'NOREPLICAS'],
    ['MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.', 'MISCONF'],
    ['ERR max number of clients reached', 'ERR'],
  ])('retries %j', (message, code) => {
    expect(classifyRedisError(replyError(message))).toEqual({ permanent: false, code, reconnect: code === 'READONLY' })
  })

  it.each([
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'WRONGTYPE'],
    ['NOAUTH Authentication required.', 'NOAUTH'],
    ['WRONGPASS invalid username-password pair or user is disabled.', 'WRONGPASS'],
    ["NOPERM User logger has no permissions to run the 'xadd' command", 'NOPERM'],
    ["ERR unknown command 'XADD', with args beginning with: ", 'ERR'],
    ['ERR DB index is out of range', 'ERR'],
    ['MOVED 3999 127.0.0.1:6381', 'MOVED'],
    ["CROSSSLOT Keys in request don't hash to the same slot", 'CROSSSLOT'],
    // A code no one listed (a module's, a proxy's): the server refused; retried, it would go on for
    // ever with a spool.
    ['SOMEMODULEERR a code nobody listed', 'SOMEMODULEERR'],
  ])('fails %j for good', (message, code) => {
    expect(classifyRedisError(replyError(message))).toEqual({ permanent: true, code, reconnect: false })
  })

  it.each([
    [socketError('ECONNREFUSED'), 'ECONNREFUSED'],
    [socketError('ECONNRESET', 'read ECONNRESET'), 'ECONNRESET'],
    [socketError('ETIMEDOUT', 'connect ETIMEDOUT'), 'ETIMEDOUT'],
    [socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND redis'), 'ENOTFOUND'],
    [new Error('Connection is closed.'), undefined],
    [new Error("Stream isn't writeable and enableOfflineQueue options is false"), undefined],
    [Object.assign(new Error('Command aborted due to connection close'), { name: 'AbortError' }), undefined],
    [new Error('delivery attempt timed out after 10000 ms'), undefined],
    ['a thrown string', undefined],
  ])('retries connection trouble: %s', (error, code) => {
    expect(classifyRedisError(error)).toEqual({ permanent: false, code, reconnect: false })
  })

  it('reads a code only from an error reply: a socket message in capitals is not one', () => {
    // Not a ReplyError and not a known code: the connection's, retried.
    expect(classifyRedisError(new Error('EPIPE broken pipe')).permanent).toBe(false)
    // A known code reads the same whatever the error's class (a client that wraps replies).
    expect(classifyRedisError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')).permanent).toBe(true)
  })
})
