/** Placeholder until the `redrive` command lands: says so and exits 2. */
export async function runRedrive(_args: readonly string[]): Promise<number> {
  process.stderr.write('pino-courier redrive: not implemented\n')
  return 2
}
