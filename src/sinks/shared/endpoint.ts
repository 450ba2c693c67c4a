/**
 * The URL a backend's requests go to. `base` is the server's base URL, as users write it
 * (`http://loki:3100`): when its path is empty or `/` the backend's standard path is added; any other
 * path is kept as given (a proxy, a prefix, a path of the user's own). Query and credentials are kept.
 */
export function endpointUrl(base: string, standardPath: string): string {
  const url = new URL(base)
  if (url.pathname === '' || url.pathname === '/') url.pathname = standardPath
  return url.toString()
}
