// Import order matters: ES modules evaluate their imports in order, and tsyringe (loaded by @peculiar/x509)
// needs the Reflect metadata API at load time.
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto)

export { x509 }
