#!/usr/bin/env bash
# A shell pipe into the pino-courier command: `node app.js | pino-courier --url URL`.
#
#   npm run build && bash examples/cli.sh
#
# A private local collector (127.0.0.1, a free port) stands in for a log backend; the "app" is pino
# logging 20,000 records to its stdout. pino-courier prints its status and final tally on stderr; the
# script exits with pino-courier's code, or 1 if the collector did not get every record.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
sink=
cleanup() {
  if [ -n "$sink" ]; then kill "$sink" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

# The collector: answers every POST, counts the NDJSON lines, writes its URL, and the count when told to stop.
node -e '
  const { createServer } = require("node:http")
  const { writeFileSync } = require("node:fs")
  const dir = process.argv[1]
  let records = 0
  const server = createServer((req, res) => {
    req.on("data", (chunk) => { for (const byte of chunk) if (byte === 10) records++ })
    req.on("end", () => res.end())
  })
  server.listen(0, "127.0.0.1", () => writeFileSync(`${dir}/url`, `http://127.0.0.1:${server.address().port}/ingest`))
  process.on("SIGTERM", () => { writeFileSync(`${dir}/count`, String(records)); process.exit(0) })
' "$dir" &
sink=$!
while [ ! -s "$dir/url" ]; do sleep 0.1; done
url=$(cat "$dir/url")

# The app | pino-courier. With pipefail, a failure of either fails the script.
node --input-type=module -e '
  import pino from "pino"
  const logger = pino({ base: { app: "examples/cli.sh" } })
  for (let i = 0; i < 20000; i++) logger.info({ i }, "request handled")
' | node dist/cli/main.js --url "$url" --header 'X-Source: examples/cli.sh' --status-interval 1

kill "$sink"
wait "$sink" || true
sink=
received=$(cat "$dir/count")
echo "collector: ${received} records"
[ "$received" = 20000 ]
