import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { validate } from 'dockerfile-utils'
import t from 'tap'
import { imageNodeFlags, imageNodeOptions } from '../support/image-node-flags.js'

/**
 * No Docker engine here, and hadolint is in neither Debian nor npm: the Dockerfile is linted with dockerfile-utils
 * (the VS Code Docker extension's validator) and its structure is checked against the repository. What the runtime
 * stage holds is exercised by production-install.test.ts.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

interface Instruction { keyword: string, args: string }
interface Stage { from: string, name: string | undefined, instructions: Instruction[] }

/** Instructions with continuation lines joined; comments and the parser directive dropped. */
function parseDockerfile (text: string): { args: Instruction[], stages: Stage[] } {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
  const args: Instruction[] = []
  const stages: Stage[] = []
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/)
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') }
    if (instruction.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args)
      stages.push({ from: match?.[1] ?? '', name: match?.[2], instructions: [] })
    } else if (stages.length === 0) {
      args.push(instruction)
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return { args, stages }
}

const text = await readFile(join(ROOT, 'Dockerfile'), 'utf8')
const { args, stages } = parseDockerfile(text)
const stage = (name: string): Stage => {
  const found = stages.find((candidate) => candidate.name === name)
  if (found === undefined) throw new Error(`no stage ${name}`)
  return found
}
const runs = (name: string): string[] => stage(name).instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args)

t.test('the Dockerfile lints clean, and the linter does catch mistakes', async (t) => {
  t.same(validate(text).map((diagnostic) => `${diagnostic.range.start.line + 1}: ${diagnostic.message}`), [])
  const broken = validate("FROM node:24-slim\nENTRYPOINT ['node', 'dist/main.js']\nEXPOSE port\nUSER\n")
  t.ok(broken.length >= 2, broken.map((diagnostic) => diagnostic.message).join('; '))
})

t.test('multi-stage on Node 24: build with npm ci and npm run build, production dependencies apart', async (t) => {
  const packageJson = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }, scripts: { build: string }, license: string }
  t.same(stages.map((candidate) => candidate.name), ['build', 'production-dependencies', 'runtime'])
  t.ok(stages.every((candidate) => candidate.from === '${NODE_IMAGE}'), 'one base image for every stage')
  const base = /^NODE_IMAGE=(\S+)$/.exec(args.find((arg) => arg.keyword === 'ARG')?.args ?? '')?.[1]
  t.match(base, /^(node:24(\.\d+)*-slim|gcr\.io\/distroless\/nodejs24\S*)$/, 'a minimal Node 24 base')
  t.match(packageJson.engines.node, />=24 <25/, 'the same major as package.json engines')
  t.ok(runs('build').some((run) => /^npm ci\b/.test(run)), 'npm ci')
  t.ok(runs('build').includes('npm run build'))
  t.equal(packageJson.scripts.build, 'tsc -p tsconfig.build.json')
  const buildConfig = JSON.parse(await readFile(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { outDir: string } }
  t.equal(buildConfig.compilerOptions.outDir, 'dist')
  t.ok(runs('production-dependencies').some((run) => /^npm ci --omit=dev --ignore-scripts\b/.test(run)), 'production dependencies only')
})

t.test('runtime stage: only dist, package.json and production node_modules; non-root; serve; OCI labels', async (t) => {
  const runtime = stage('runtime')
  t.equal(stages.at(-1), runtime, 'the runtime stage is the image')
  t.same(runtime.instructions.filter((i) => i.keyword === 'RUN'), [], 'nothing runs while building the final stage')
  t.same(runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args), [
    '--from=production-dependencies /app/node_modules ./node_modules',
    '--from=build /app/dist ./dist',
    'package.json ./'
  ])
  t.same(runtime.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args), ['65532:65532'], 'numeric non-root UID, as runAsNonRoot requires')
  t.same(runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT').map((i) => JSON.parse(i.args) as unknown), [['node', '--no-maglev', '--memory-saver-mode', 'dist/main.js', 'serve']])
  t.same(runtime.instructions.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args), ['8443'])
  const labels = runtime.instructions.filter((i) => i.keyword === 'LABEL').map((i) => i.args).join(' ')
  for (const key of ['title', 'description', 'version', 'licenses', 'base.name']) t.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key.replace('.', '\\.')}=`))
  t.match(labels, /org\.opencontainers\.image\.licenses="Apache-2\.0"/)
})

/** Docker's .dockerignore rule: the last pattern matching the path or one of its parent directories decides. */
function excluded (path: string, patterns: string[]): boolean {
  const parts = path.split('/')
  const prefixes = parts.map((_, index) => parts.slice(0, index + 1).join('/'))
  let result = false
  for (const raw of patterns) {
    const negated = raw.startsWith('!')
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/$/, '')
    const regex = new RegExp(`^${pattern.split('*').map((piece) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`)
    if (prefixes.some((prefix) => regex.test(prefix))) result = !negated
  }
  return result
}

t.test('.dockerignore sends exactly what the build copies: no keys, no node_modules, no tests', async (t) => {
  const patterns = (await readFile(join(ROOT, '.dockerignore'), 'utf8')).split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
  const { stdout } = await promisify(execFile)('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 16 << 20 })
  const files = [...stdout.split('\n').filter(Boolean), 'node_modules/fastify/package.json', 'certs/tls.key', '.git/config', 'dist/main.js']
  const sent = files.filter((file) => existsSync(join(ROOT, file)) || file.startsWith('node_modules/') || file.startsWith('certs/') || file.startsWith('.git/') || file.startsWith('dist/'))
    .filter((file) => !excluded(file, patterns))
  t.same(sent.filter((file) => !file.startsWith('src/')).sort(), ['package-lock.json', 'package.json', 'tsconfig.build.json', 'tsconfig.json'])
  t.ok(sent.some((file) => file === 'src/main.ts'))
  const copied = stages.flatMap((candidate) => candidate.instructions).filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
  for (const source of copied) {
    t.ok(existsSync(join(ROOT, source)), `${source} exists`)
    t.notOk(excluded(source, patterns), `${source} is in the build context`)
  }
})

t.test('the runtime sets NODE_OPTIONS that Node 24 accepts (the bench runs our server with the same line)', async (t) => {
  const env = stage('runtime').instructions.filter((instruction) => instruction.keyword === 'ENV').map((instruction) => instruction.args)
  const options = env.map((args) => /^NODE_OPTIONS="([^"]*)"$/.exec(args)?.[1]).find((value) => value !== undefined)
  t.equal(options, '--max-semi-space-size=4 --max-old-space-size=128',
    'young and old generation capped: V8 would size them from the machine, not the pod (issue 17 §3)')
  const node = join(ROOT, 'node_modules', '.bin', 'node')
  const { stdout } = await promisify(execFile)(node, ['-e', 'process.stdout.write(String(require("node:v8").getHeapSpaceStatistics().length > 0))'], {
    env: { ...process.env, NODE_OPTIONS: options ?? '' }
  })
  t.equal(stdout, 'true', 'node starts with these NODE_OPTIONS (not every V8 flag is allowed there)')
  // What the bench and the tests' webhook processes read (test/support/image-node-flags.ts).
  t.equal(imageNodeOptions(ROOT), options)
  const flags = imageNodeFlags(ROOT)
  t.same(flags, ['--no-maglev', '--memory-saver-mode'], 'V8 flags for memory (issue 17 §3)')
  for (const flag of flags) {
    const refused = await promisify(execFile)(node, ['-e', '0'], { env: { ...process.env, NODE_OPTIONS: flag } }).then(() => '', (error: Error & { stderr: string }) => error.stderr)
    t.match(refused, `${flag} is not allowed in NODE_OPTIONS`, `the ENTRYPOINT carries ${flag} because NODE_OPTIONS refuses it`)
  }
  const { stdout: flagged } = await promisify(execFile)(node, [...flags, '-e', 'process.stdout.write("started")'], { env: { ...process.env, NODE_OPTIONS: options ?? '' } })
  t.equal(flagged, 'started', 'node starts with the ENTRYPOINT\'s flags and these NODE_OPTIONS')
})
