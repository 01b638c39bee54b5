import t from 'tap'
import { ErrorCode } from '../../src/errors.js'
import { deadlineIn } from '../../src/registry/types.js'
import { startFaultyServer } from '../support/faulty-server.js'
import { startResolver } from '../support/resolver-harness.js'

// Issue 7: an admission that joins a lookup already in flight (single flight) answers by its own deadline, not by the
// deadline of the admission that started the lookup. Measured against generous bounds only.

t.test('issue 7: a single-flight joiner gives up at its own deadline', async (t) => {
  const faulty = await startFaultyServer({ t, fault: { kind: 'hang' } })
  const harness = startResolver(t, { registries: [{ host: faulty.host, insecure: true }] })
  const reference = `${faulty.host}/team/app:v1`
  const started = Date.now()
  const first = harness.resolver.resolveOne(reference, deadlineIn(6000)).then((result) => ({ result, ms: Date.now() - started }))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const joinerStarted = Date.now()
  const joiner = await harness.resolver.resolveOne(reference, deadlineIn(500))
  const joinerMs = Date.now() - joinerStarted
  t.equal(joiner.ok ? '' : joiner.error.code, ErrorCode.registryTimeout)
  t.match(joiner.ok ? '' : joiner.error.message, /registry [^ ]+: no answer before the admission deadline/)
  t.ok(joinerMs < 3000, `the joiner answered after ${joinerMs} ms (its budget 500 ms), long before the first lookup's 6000 ms`)
  t.equal(faulty.requests().length, 1, 'still one request on the wire')
  const { result } = await first
  t.equal(result.ok ? '' : result.error.code, ErrorCode.registryTimeout, 'the first admission keeps its own, longer deadline')
})
