/**
 * Credentials of the real-node cluster, written under its pki dir: an admin bearer token (system:masters) that every
 * component uses, the service-account signing key pair, and a client CA with the certificate kube-apiserver
 * presents to the kubelet, so `kubectl logs` and `exec` pass the kubelet's x509 authentication.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createCa, issueCert } from './tls.js'

/** The user in the apiserver's kubelet client certificate; bound to system:kubelet-api-admin after start. */
export const KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client'

export interface NodeCredentials {
  token: string
  tokenFile: string
  saKey: string
  saPub: string
  clientCaFile: string
  kubeletClientCert: string
  kubeletClientKey: string
}

export async function writeCredentials (pki: string): Promise<NodeCredentials> {
  await mkdir(pki, { recursive: true })
  const token = randomBytes(32).toString('hex')
  const files: NodeCredentials = {
    token,
    tokenFile: join(pki, 'tokens.csv'),
    saKey: join(pki, 'sa.key'),
    saPub: join(pki, 'sa.pub'),
    clientCaFile: join(pki, 'ca.crt'),
    kubeletClientCert: join(pki, 'apiserver-kubelet-client.crt'),
    kubeletClientKey: join(pki, 'apiserver-kubelet-client.key')
  }
  await writeFile(files.tokenFile, `${token},admin,${randomUUID()},"system:masters"\n`, { mode: 0o600 })
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  await writeFile(files.saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  await writeFile(files.saPub, publicKey.export({ type: 'spki', format: 'pem' }))
  const ca = await createCa('atw real-node client CA')
  const client = await issueCert(ca, { commonName: KUBELET_CLIENT_USER, usages: ['clientAuth'] })
  await writeFile(files.clientCaFile, ca.certPem)
  await writeFile(files.kubeletClientCert, client.certPem)
  await writeFile(files.kubeletClientKey, client.keyPem, { mode: 0o600 })
  return files
}
