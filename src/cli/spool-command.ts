/** Placeholder until the `spool` command lands: says so and exits 2. */
export async function runSpool(_args: readonly string[]): Promise<number> {
  process.stderr.write('pino-courier spool: not implemented\n')
  return 2
}
