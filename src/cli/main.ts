import { ConfigError } from '../errors.js'
import { certsUsage, runCerts } from './certs.js'
import { checkUsage, runCheck } from './check.js'
import { outdatedUsage, runOutdated } from './outdated.js'
import { pinUsage, runPin } from './pin.js'
import { runResolve, resolveUsage } from './resolve.js'
import { runServe, serveUsage } from './serve.js'
import { ExitCode, processIo, UsageError, type Io } from './usage.js'
import { packageVersion, wantsVersion } from './version.js'

type Command = (args: readonly string[], io: Io) => Promise<number>

const commands: Record<string, { run: Command, usage: string }> = {
  resolve: { run: runResolve, usage: resolveUsage },
  serve: { run: runServe, usage: serveUsage },
  check: { run: runCheck, usage: checkUsage },
  pin: { run: runPin, usage: pinUsage },
  certs: { run: runCerts, usage: certsUsage },
  outdated: { run: runOutdated, usage: outdatedUsage }
}

const overview = `usage: actortemplate-webhook <command> [options]
commands: ${Object.keys(commands).join(', ')}
Run "actortemplate-webhook <command> --help" for a command's options; --version (on any command) prints the version.`

export async function main (argv: readonly string[], io: Io = processIo): Promise<number> {
  if (wantsVersion(argv)) {
    io.stdout(`${await packageVersion()}\n`)
    return ExitCode.ok
  }
  const [name, ...args] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${overview}\n`)
    return name === undefined ? ExitCode.usage : ExitCode.ok
  }
  const command = commands[name]
  if (command === undefined) {
    io.stderr(`unknown command ${JSON.stringify(name)}\n${overview}\n`)
    return ExitCode.usage
  }
  try {
    return await command.run(args, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message}\n${command.usage}\n`)
      return ExitCode.usage
    }
    if (error instanceof ConfigError) {
      io.stderr(`${error.message}\n`)
      return ExitCode.usage
    }
    throw error
  }
}
