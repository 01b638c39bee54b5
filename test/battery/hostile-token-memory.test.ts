import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t, { type Test } from 'tap'
import { deadlineIn } from '../../src/registry/types.js'
import { startHostileRegistry } from '../support/hostile-registry.js'
import { startResolver } from '../support/resolver-harness.js'

// Issue 13 §1, bullet 3: a hostile token server hands out a huge token for every repository, and each admission
// names new repositories. Before, every token stayed in the Authenticator forever (a 4 MiB token per repository grew
// the heap by 400 MiB). Now a token response over 64 KiB is refused, and the tokens kept are bounded in count and
// characters (resolver.maxCachedTokens / maxCachedTokenBytes). Measured as heapUsed after a full GC, real sockets.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
const MiB = 1024 * 1024

async function heapAfterGc (): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

async function growth (t: Test, tokenBytes: number, admissions: number, perAdmission: number): Promise<{ grownMiB: number, pinned: number }> {
  const registry = await startHostileRegistry(t, { auth: 'bearer', tokenBytes })
  const harness = startResolver(t, { registries: [{ host: registry.host, insecure: true }], resolver: { maxAttempts: 1 } })
  await harness.resolver.resolveOne(`${registry.host}/warm-up/app:v1`, deadlineIn(20_000))
  const before = await heapAfterGc()
  let pinned = 0
  for (let admission = 0; admission < admissions; admission++) {
    const references = Array.from({ length: perAdmission }, (_, index) => `${registry.host}/tenant-${admission}-${index}/app:v1`)
    const results = await harness.resolver.resolveAll(references, deadlineIn(30_000))
    pinned += [...results.values()].filter((result) => result.ok).length
  }
  const after = await heapAfterGc()
  return { grownMiB: (after - before) / MiB, pinned }
}

t.test('issue 13: 4 MiB tokens for 60 new repositories leave the heap flat', async (t) => {
  const { grownMiB, pinned } = await growth(t, 4 * MiB - 4096, 12, 5)
  t.ok(grownMiB < 32, `heap grew ${grownMiB.toFixed(1)} MiB after GC`)
  t.comment(`4 MiB token x 60 repositories in 12 admissions: ${pinned} pinned, heap after GC grew ${grownMiB.toFixed(1)} MiB`)
})

t.test('issue 13: 60 KiB tokens (under the cap) for 1,500 new repositories stay within the token cache bound', async (t) => {
  const { grownMiB, pinned } = await growth(t, 60 * 1024, 50, 30)
  t.equal(pinned, 1500, 'tokens under the cap are used')
  t.ok(grownMiB < 32, `heap grew ${grownMiB.toFixed(1)} MiB after GC (token cache bound 8 MiB of characters)`)
  t.comment(`60 KiB token x 1500 repositories in 50 admissions: ${pinned} pinned, heap after GC grew ${grownMiB.toFixed(1)} MiB`)
})
