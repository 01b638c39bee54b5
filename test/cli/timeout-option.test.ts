import t from 'tap'
import { main } from '../../src/cli/main.js'
import { captureIo } from './io.js'

// Issue 15 §3: `--timeout 0` was refused with "between 0 and 300", which reads as if 0 were allowed. The message now
// states the real range, for pin and resolve alike, before any registry is contacted.

t.test('out-of-range and non-numeric timeouts name the real range and the value given', async (t) => {
  for (const command of ['pin', 'resolve']) {
    for (const value of ['0', '-1', '301', 'soon', '']) {
      const io = captureIo()
      t.equal(await main([command, `--timeout=${value}`, command === 'pin' ? 'examples/agent.yaml' : 'ghcr.io/acme/agent:1.4'], io), 2, `${command} --timeout ${JSON.stringify(value)}`)
      t.match(io.err(), `--timeout must be a number of seconds greater than 0 and at most 300 (for example 0.5 or 300), not ${JSON.stringify(value)}\n`)
      t.match(io.err(), /--timeout SECONDS bounds the registry lookups: more than 0, at most 300, default 30\./, 'the usage text says it too')
      t.equal(io.out(), '')
    }
  }
})
