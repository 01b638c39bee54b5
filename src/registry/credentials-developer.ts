import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '../config.js'

/**
 * The CLI uses the registry logins a developer already has, as docker, skopeo and crane do: `$DOCKER_CONFIG/config.json`,
 * else `~/.docker/config.json` (with its credHelpers and credsStore). The server never does: its credentials are what
 * its config and Secrets name, not whatever the account it runs as has lying around.
 */
export function developerDockerConfigPath (env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const dir = env['DOCKER_CONFIG']
  return join(dir !== undefined && dir !== '' ? dir : join(home, '.docker'), 'config.json')
}

/**
 * `config` with the developer's docker config.json after the files the config names (those win), when `use` and the
 * file exists: a machine without docker logins is not an error.
 */
export function withDeveloperDockerConfig<C extends Pick<Config, 'credentials'>> (config: C, use: boolean, path: string = developerDockerConfigPath()): C {
  if (!use || !existsSync(path) || config.credentials.dockerConfigFiles.includes(path)) return config
  return { ...config, credentials: { ...config.credentials, dockerConfigFiles: [...config.credentials.dockerConfigFiles, path] } }
}
