/** Placeholder: the pipe command comes next. */
export async function runPipe(_args: readonly string[]): Promise<number> {
  process.stderr.write('pino-courier: not implemented yet\n')
  return 2
}
