import { z } from 'zod'

/** An HTTP header name: a token (RFC 9110), what Node's http client accepts. */
export const HEADER_NAME = /^[!#$%&'*+.^`|~\w-]+$/

/**
 * What Node's http client refuses in a header value: control characters but tab, and anything above
 * U+00FF. Such a value would make every request throw ("Invalid character in header content") and be
 * retried until the retries ran out; refused at start-up instead.
 */
const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/**
 * The `headers` option of the HTTP-based senders. A bad name or value fails at start-up with its path
 * (`senders[0].headers.authorization`); the message never repeats the value, which is often a secret.
 */
export const headersSchema = z.record(
  z.string().regex(HEADER_NAME, 'Invalid header name'),
  z.string().refine((value) => !BAD_HEADER_VALUE.test(value), 'the value holds a character a header cannot carry (a control character or one above U+00FF)'),
)
