import { main } from './main.js'

/** The CLI on the real process, loaded by src/main.ts once the Node version is known to be supported. */

// A reader that goes away (`check … | head`) is not an error of ours: stop quietly instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error
    process.exit(process.exitCode ?? 0)
  })
}

process.exitCode = await main(process.argv.slice(2))
