/**
 * Writes a real-node cluster's files from node-configs.ts into its dir, and reads back what the apiserver generated.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { API_SERVER } from './node-components.js'
import * as configs from './node-configs.js'
import { writeCredentials, type NodeCredentials } from './node-credentials.js'

export async function writeConfigs (layout: configs.NodeLayout, p: ReturnType<typeof configs.paths>): Promise<NodeCredentials> {
  for (const d of [p.containerdRoot, p.containerdState, join(p.certsD, configs.registryHost), p.cniConf, p.cniIpam, p.kubeletRoot, p.kubeletCerts, p.podLogs, p.volumePlugins, p.registryStorage]) {
    await mkdir(d, { recursive: true })
  }
  await writeFile(p.containerdConfig, configs.containerdConfig(layout))
  await writeFile(join(p.certsD, configs.registryHost, 'hosts.toml'), configs.registryHostsToml())
  await writeFile(join(p.cniConf, '10-atw.conflist'), configs.cniConflist(layout))
  await writeFile(p.kubeletConfig, configs.kubeletConfig(layout))
  await writeFile(p.resolvConf, '')
  await writeFile(p.registryConfig, configs.registryConfig(layout))
  const creds = await writeCredentials(p.pki)
  await writeFile(p.kubeconfig, configs.kubeconfig({ server: API_SERVER, token: creds.token }), { mode: 0o600 })
  return creds
}

/** The apiserver writes its self-signed serving certificate followed by its CA; the CA signs for 10.96.0.1 too. */
export async function apiserverCa (dir: string): Promise<string> {
  const pem = await readFile(join(dir, 'apiserver-certs', 'apiserver.crt'), 'utf8')
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  return `${blocks.at(-1) ?? pem}\n`
}
