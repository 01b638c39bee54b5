import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import Fastify from 'fastify'

/**
 * Our stack's floor (issue 6): a bare fastify HTTPS server on the same runtime, same TLS settings and certificate,
 * that parses the same AdmissionReview body and answers a fixed AdmissionReview (the one our webhook gives for
 * that body, read from a file). No decoding, no validation, no logging, no metrics: whatever we add costs on top.
 * The bench runs it compiled and with the image's NODE_OPTIONS, as it runs ours (bench/servers.ts).
 *
 *   node floor-server.js --port P --tls-cert F --tls-key F --response F
 */

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    response: { type: 'string' }
  },
  strict: true
})
const required = (name: 'port' | 'tls-cert' | 'tls-key' | 'response'): string => {
  const value = values[name]
  if (value === undefined) throw new Error(`--${name} is required`)
  return value
}

const answer = readFileSync(required('response'), 'utf8')
const app = Fastify({
  logger: false,
  keepAliveTimeout: 65_000,
  bodyLimit: 7 * 1024 * 1024,
  https: {
    cert: readFileSync(required('tls-cert')),
    key: readFileSync(required('tls-key')),
    minVersion: 'TLSv1.2',
    ALPNProtocols: ['http/1.1']
  }
})
app.post('/mutate', async (_request, reply) => await reply.type('application/json').send(answer))
app.get('/readyz', async () => ({ status: 'ok' }))

await app.listen({ host: values.host, port: Number(required('port')) })
const stop = (): void => { void app.close().then(() => process.exit(0)) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
