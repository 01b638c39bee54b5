import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createNamespace } from '../support/battery-netns.js'
import type { GoogleMetadataReport } from '../support/google-metadata-probe.js'

// Issue 8: the google provider's own call to the GKE metadata server (a link-local address) is not blocked by the
// guard that image hosts get, and image references naming that same server never reach it. The address is real:
// it lives on the loopback of a network namespace this test creates.

const probe = fileURLToPath(new URL('../support/google-metadata-probe.ts', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))

t.test('the metadata server is reached by the provider and never by an image reference', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('this test creates a network namespace and needs root (CI and the dev machines run as root)')
    return
  }
  const namespace = await createNamespace(t, { addresses: ['169.254.169.254/32'], hosts: ['169.254.169.254 metadata.google.internal'] })
  const { code, stdout, stderr } = await namespace.run([process.execPath, '--import', 'tsx', probe], { cwd: root })
  t.equal(code, 0, `the probe ran inside ${namespace.name}${code === 0 ? '' : `: ${stderr.slice(-2000)}`}`)
  if (code !== 0) return
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as GoogleMetadataReport
  t.same(report.credential, { username: 'oauth2accesstoken', source: 'the google identity of ServiceAccount actortemplate-webhook/actortemplate-webhook' },
    'the default metadata URL (metadata.google.internal → 169.254.169.254) gave the provider a token')
  t.equal(report.metadataRequestsAfterIdentity, 1)
  for (const result of report.imageResults) {
    t.equal(result.code, 'BLOCKED_ADDRESS', `${result.reference} is refused`)
    t.match(result.message, /refusing to connect to (metadata\.google\.internal|169\.254\.169\.254)/)
  }
  t.equal(report.metadataRequestsAfterImages, 1, 'no image lookup reached the metadata server')
})
