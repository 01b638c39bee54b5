import { spawnSync } from 'node:child_process'
import t from 'tap'

/**
 * Issue 17 §3: loadUndici keeps undici's WebAssembly HTTP parser in V8's baseline code. Each case is a fresh Node
 * process (the flag is process-wide) that parses 300 real HTTP answers from a loopback server through undici and
 * reports the most memory V8 had malloced meanwhile, sampled every millisecond: TurboFan's one compile of llhttp
 * mallocs ~23 MB at once. The control, a plain `import('undici')`, shows that the same traffic does reach that compile
 * without the budget. (After thousands of answers V8's JavaScript compilers malloc as much for undici's own code in
 * both cases; 300 is a warm replica's few.)
 */

const root = new URL('../..', import.meta.url).pathname

function mallocedWhileParsingMb (load: string): number {
  const script = `
    const http = await import('node:http')
    const { getHeapStatistics } = await import('node:v8')
    const { Client } = await ${load}
    const server = http.createServer((request, response) => { response.setHeader('docker-content-digest', 'sha256:' + '0'.repeat(64)); response.end() })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const client = new Client('http://127.0.0.1:' + server.address().port)
    // The loader (tsx) has its own start-up peak: watch what V8 holds while the answers are parsed.
    let highest = 0
    const watch = setInterval(() => { highest = Math.max(highest, getHeapStatistics().malloced_memory) }, 1)
    for (let index = 0; index < 300; index++) {
      const answer = await client.request({ path: '/v2/team/app/manifests/v' + index, method: 'HEAD' })
      await answer.body.dump()
    }
    // Tier-up compiles on a background thread: give a compile that has started the time to finish.
    await new Promise((resolve) => setTimeout(resolve, 500))
    clearInterval(watch)
    await client.close()
    server.close()
    process.stdout.write(String(highest / 1024 / 1024))
  `
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })
  if (child.status !== 0) throw new Error(`the probe failed (${String(child.status)}): ${child.stderr}`)
  return Number(child.stdout)
}

t.test('the parser stays in baseline code: no ~23 MB TurboFan compile', async (t) => {
  const ours = mallocedWhileParsingMb("import('./src/registry/load-undici.ts').then((module) => module.loadUndici())")
  const control = mallocedWhileParsingMb("import('undici')")
  t.comment(`most memory V8 had malloced while parsing 300 answers: loadUndici ${ours.toFixed(1)} MB, plain import ${control.toFixed(1)} MB`)
  t.ok(control > 15, `the control reached the optimising compile (${control.toFixed(1)} MB)`)
  t.ok(ours < 10, `loadUndici did not (${ours.toFixed(1)} MB)`)
})

t.test('undici is loaded once and shared', async (t) => {
  const { loadUndici } = await import('../../src/registry/load-undici.js')
  const [first, second] = await Promise.all([loadUndici(), loadUndici()])
  t.equal(first, second, 'one module for every caller')
  t.type(first.Agent, 'function')
})
