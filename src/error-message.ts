/**
 * A one-line message for any thrown value. Its own module so that code outside the engine (the
 * main-thread signal handling) can use it without loading the engine.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    // The parts are what a reader needs ("disk gone"), not only how many there were.
    return `${error.name}: ${error.message}: ${error.errors.map(errorMessage).join('; ')}`
  }
  if (error instanceof Error) {
    // The cause only when it adds something: a message that quotes it already needs it no second time.
    const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? ` (${error.cause.message})` : ''
    return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}${cause}`
  }
  return String(error)
}
