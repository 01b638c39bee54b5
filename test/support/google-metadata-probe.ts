import { loadConfig } from '../../src/config.js'
import { credentialsFromConfig } from '../../src/registry/credentials-from-config.js'
import { createRegistryStack } from '../../src/registry/create-resolver.js'
import { deadlineIn } from '../../src/registry/types.js'
import { startMetadataServer } from './metadata-server.js'

/**
 * Runs inside a network namespace whose loopback holds 169.254.169.254 and whose /etc/hosts maps
 * metadata.google.internal there (test/registry/google-metadata.test.ts). A fixture metadata server listens on the real
 * address; the google provider must reach it with the default URL, and image references naming it must not.
 * Prints one JSON line.
 */

export interface GoogleMetadataReport {
  credential: { username: string, source: string } | { error: string }
  metadataRequestsAfterIdentity: number
  imageResults: Array<{ reference: string, code: string | undefined, message: string }>
  metadataRequestsAfterImages: number
}

const metadata = await startMetadataServer(() => 'ya29.netns', '169.254.169.254', 80)

const config = loadConfig({}, {})
const credentials = credentialsFromConfig({
  credentials: { ...config.credentials, providers: [{ provider: 'google', hosts: ['*.gcr.io', 'metadata.google.internal', '169.254.169.254'] }] }
}, () => {})
let credential: GoogleMetadataReport['credential']
try {
  const found = await credentials.credentialFor('eu.gcr.io')
  credential = found === undefined ? { error: 'no credential' } : { username: found.username, source: found.source }
} catch (error) {
  credential = { error: (error as Error).message }
}
const metadataRequestsAfterIdentity = metadata.requests()

const stack = createRegistryStack(config, credentials)
const references = ['metadata.google.internal/compute/v1:latest', '169.254.169.254/latest/meta-data:1']
const results = await stack.resolver.resolveAll(references, deadlineIn(5000))
const imageResults = references.map((reference) => {
  const result = results.get(reference)
  return result?.ok === false
    ? { reference, code: result.error.code, message: result.error.message }
    : { reference, code: undefined, message: result?.ok === true ? `pinned ${result.pinned}` : 'missing' }
})
await stack.close()
metadata.close()
const report: GoogleMetadataReport = { credential, metadataRequestsAfterIdentity, imageResults, metadataRequestsAfterImages: metadata.requests() }
console.log(JSON.stringify(report))
