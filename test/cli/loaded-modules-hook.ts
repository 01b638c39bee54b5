/**
 * Preloaded with `--import` into a child process: records the URL of every module it loads and, at exit, writes them
 * (one per line) to the file named by ATW_TEST_LOADED_MODULES. The issue 6 test reads it to see what `serve` imported.
 */
import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const loaded = new Set<string>()
registerHooks({
  load: (url, context, nextLoad) => {
    loaded.add(url)
    return nextLoad(url, context)
  }
})
const output = process.env['ATW_TEST_LOADED_MODULES']
if (output !== undefined) process.on('exit', () => { writeFileSync(output, [...loaded].join('\n')) })
