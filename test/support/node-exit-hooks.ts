/**
 * Synchronous cleanup when the test process ends without calling stop() (failed assertion, tap timeout, Ctrl-C).
 * The daemons would die anyway (parent-death signal), but pods, mounts and the network namespace would not.
 */
const hooks = new Set<() => void>()
let installed = false

function runAll (): void {
  for (const hook of [...hooks]) {
    hooks.delete(hook)
    try { hook() } catch { /* keep releasing the rest */ }
  }
}

/** Registers `hook`; returns a function that unregisters it (call it after an orderly stop). */
export function onProcessExit (hook: () => void): () => void {
  if (!installed) {
    installed = true
    process.on('exit', runAll)
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        runAll()
        // Re-raise so the default action (or another handler) still ends the process.
        process.kill(process.pid, signal)
      })
    }
  }
  hooks.add(hook)
  return () => { hooks.delete(hook) }
}
