import { registryDetail } from '../admission/response.js'
import { InvalidReferenceError, type RegistryError } from '../errors.js'
import { parseReference } from '../images/reference.js'
import { loadConfig } from '../config.js'
import { createRegistryStack } from '../registry/create-resolver.js'
import { credentialsFromConfig } from '../registry/credentials-from-config.js'
import { withDeveloperDockerConfig } from '../registry/credentials-developer.js'
import { deadlineIn } from '../registry/types.js'
import { dockerConfigHelp, ExitCode, type Io, parseCommandArgs, secondsOption, UsageError } from './usage.js'

export const resolveUsage = `usage: actortemplate-webhook resolve [--config FILE] [--insecure-registry HOST[:PORT]]... [--no-docker-config] [--timeout SECONDS] REF...
Prints one pinned reference (<ref as written>[:latest]@<digest>) per line, in the order given.
--timeout SECONDS bounds the registry lookups: more than 0, at most 300, default 30.
${dockerConfigHelp}
Exit 0 when all resolve, 1 when any fails (each error on stderr), 2 on usage errors.`

/**
 * One failure after the reference as written (named once); the advice is worded for someone at this machine, not the
 * webhook; an untagged reference says which tag was looked up.
 */
function failureText (reference: string, error: RegistryError | InvalidReferenceError): string {
  if (error instanceof InvalidReferenceError) return `not a valid image reference: ${error.reason}`
  const untagged = parseReference(reference)
  const lookedUp = untagged.tag === undefined && untagged.digest === undefined ? `looked up as :${error.reference}: ` : ''
  return `${lookedUp}${registryDetail(error, 'cli')}`
}

export async function runResolve (args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    config: { type: 'string' },
    'insecure-registry': { type: 'string', multiple: true },
    'no-docker-config': { type: 'boolean' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help === true) {
    io.stdout(`${resolveUsage}\n`)
    return ExitCode.ok
  }
  if (positionals.length === 0) throw new UsageError('resolve needs at least one image reference')
  const timeoutSeconds = secondsOption(values.timeout, 'timeout', 30)
  const config = withDeveloperDockerConfig(loadConfig({ configFile: values.config, insecureRegistries: values['insecure-registry'] }), values['no-docker-config'] !== true)
  const stack = createRegistryStack(config, credentialsFromConfig(config, (problem) => io.stderr(`warning: ${problem}\n`)))
  try {
    const results = await stack.resolver.resolveAll(positionals, deadlineIn(timeoutSeconds * 1000))
    let failed = false
    for (const reference of positionals) {
      const result = results.get(reference)
      if (result?.ok === true) {
        io.stdout(`${result.pinned}\n`)
      } else {
        failed = true
        io.stderr(`${reference}: ${result === undefined ? 'not resolved' : failureText(reference, result.error)}\n`)
      }
    }
    return failed ? ExitCode.rejected : ExitCode.ok
  } finally {
    await stack.close()
  }
}
