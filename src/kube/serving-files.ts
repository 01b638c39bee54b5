import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { CertificatePair } from '../certs/generate.js'

/** Writes via a temporary file and rename, so a reader never sees half a PEM. */
async function replaceFile (path: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(temporary, content, { mode })
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

async function readOrUndefined (path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return undefined
  }
}

/**
 * A writer for the files the server serves (server.tlsCert / server.tlsKey). The key goes first: the server only installs a
 * pair whose key matches the certificate, so between the two renames it keeps serving the previous pair.
 * Returns whether anything changed on disk.
 */
export function servingFileWriter (certPath: string, keyPath: string): (pair: CertificatePair) => Promise<boolean> {
  return async (pair) => {
    const [cert, key] = await Promise.all([readOrUndefined(certPath), readOrUndefined(keyPath)])
    if (cert === pair.certPem && key === pair.keyPem) return false
    await replaceFile(keyPath, pair.keyPem, 0o600)
    await replaceFile(certPath, pair.certPem, 0o644)
    return true
  }
}
