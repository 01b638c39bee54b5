/**
 * Preloaded with `--import` into a child process: records the URL of every module it loads and, at exit, writes them
 * (one per line) to the file named by ATW_TEST_LOADED_MODULES. The issue 6 test reads it to see what `serve` imported.
 */
import { writeFileSync } from 'node:fs'
import { createRequire, registerHooks } from 'node:module'
import { pathToFileURL } from 'node:url'

const loaded = new Set<string>()
registerHooks({
  load: (url, context, nextLoad) => {
    loaded.add(url)
    return nextLoad(url, context)
  }
})
/** Under tsx, require() inside CommonJS packages (fastify's own) bypasses registerHooks; the CommonJS cache has them all. */
function required (): string[] {
  return Object.keys(createRequire(import.meta.url).cache).map((path) => pathToFileURL(path).href)
}
/**
 * Node's own modules (e.g. "node-internal:internal/deps/undici/undici"), which no hook sees, from the undocumented
 * process.moduleLoadList; if it ever goes away the test's positive check on internal/http fails instead of passing.
 */
function builtins (): string[] {
  const list = (process as unknown as { moduleLoadList?: readonly string[] }).moduleLoadList ?? []
  return list.filter((entry) => entry.startsWith('NativeModule ')).map((entry) => `node-internal:${entry.slice('NativeModule '.length)}`)
}
const output = process.env['ATW_TEST_LOADED_MODULES']
if (output !== undefined) process.on('exit', () => { writeFileSync(output, [...new Set([...loaded, ...required(), ...builtins()])].join('\n')) })
