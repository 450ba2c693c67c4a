// An app with an in-process courier stream serving metrics, that logs one record and is then done
// (it never closes the stream), for test/metrics/metrics-endpoint.test.ts: prints the metrics url,
// then should exit on its own even while a scraper stays connected.
import pino from 'pino'
import { createCourierStream } from 'pino-courier'

const stream = createCourierStream({ senders: [{ type: 'file', path: '/dev/null' }], metrics: { port: 0 }, stderr: false })
const url = await stream.metricsReady()
pino(stream).info('one record')
process.stdout.write(`url ${url}\n`)
