// pino-http-send exports createWriteStream() instead of a transport function; this is the adapter
// a user writes to use it with pino.transport(). Its options are its own defaults plus the URL.
const { createWriteStream } = require('pino-http-send')

module.exports = (options) => createWriteStream(options)
