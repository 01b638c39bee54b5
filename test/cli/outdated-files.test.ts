import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { main } from '../../src/cli/main.js'
import { buildOciImage, buildOciIndex } from '../support/oci-layout.js'
import { push } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { captureIo } from './io.js'

/**
 * issue 18, files mode: `outdated FILE|DIR...` on manifests pinned by `pin`, against a real registry whose tags then
 * move. Counts at the registry prove each distinct tag is looked up once, however many templates share it.
 */

const registry = await startRegistry({ mode: 'http' })
t.teardown(() => registry.close())
const host = registry.host
const dir = await mkdtemp(join(tmpdir(), 'atw-outdated-files-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const first = {
  pause: await push(registry, buildOciImage(), 'pause', '3.10'),
  agent: await push(registry, buildOciIndex(), 'acme/agent', '1.4'),
  tools: await push(registry, buildOciImage(), 'acme/tools', 'latest'),
  fixed: await push(registry, buildOciImage(), 'acme/fixed', '1')
}

function template (name: string, containers: Array<[string, string]>): string {
  return `apiVersion: ate.dev/v1alpha1
kind: ActorTemplate
metadata:
  name: ${name}
  namespace: team-a
spec:
  pauseImage: ${host}/pause:3.10
  containers:
${containers.map(([container, image]) => `  - name: ${container}\n    image: ${image}\n    command: ["/app/server"]`).join('\n')}
  snapshotsConfig:
    location: gs://bucket/prefix/
`
}

// Two templates share the pause and agent tags; `acme/tools` is written without a tag (pinned as :latest); one image
// is pinned by digest alone.
const agentFile = join(dir, 'agent.yaml')
await writeFile(agentFile, `${template('agent', [['agent', `${host}/acme/agent:1.4`], ['tools', `${host}/acme/tools`]])}---\n${
  template('agent-microvm', [['agent', `${host}/acme/agent:1.4`], ['fixed', `${host}/acme/fixed@${first.fixed.digest}`]])}`)
const pinned = captureIo()
// Setup, not an assertion: tap ends a root test that asserted and then waits on I/O.
if (await main(['pin', '--in-place', '--insecure-registry', host, agentFile], pinned) !== 0) throw new Error(`pin failed: ${pinned.err()}`)

const moved = {
  agent: await push(registry, buildOciIndex(), 'acme/agent', '1.4'),
  tools: await push(registry, buildOciImage(), 'acme/tools', 'latest')
}
const short = (digest: string): string => digest.slice(0, 'sha256:'.length + 12)

t.test('after two tags moved: exit 1, both listed, each distinct tag asked once', async (t) => {
  registry.resetRequests()
  const io = captureIo()
  t.equal(await main(['outdated', '--insecure-registry', host, dir], io), 1, 'exit 1: something moved', { stderr: io.err() })
  const lines = io.out().trimEnd().split('\n')
  t.match(lines[0], /^TEMPLATE +FIELD +STATUS +TAG +PINNED +PINNED AT +CURRENT$/)
  const rows = lines.slice(1, -1).map((line) => line.split(/ {2,}/))
  t.same(rows, [
    [`${agentFile}#1: ActorTemplate team-a/agent`, 'spec.containers[0].image', 'moved', `${host}/acme/agent:1.4`, short(first.agent.digest), '-', short(moved.agent.digest)],
    [`${agentFile}#1: ActorTemplate team-a/agent`, 'spec.containers[1].image', 'moved', `${host}/acme/tools:latest`, short(first.tools.digest), '-', short(moved.tools.digest)],
    [`${agentFile}#2: ActorTemplate team-a/agent-microvm`, 'spec.containers[0].image', 'moved', `${host}/acme/agent:1.4`, short(first.agent.digest), '-', short(moved.agent.digest)],
    [`${agentFile}#2: ActorTemplate team-a/agent-microvm`, 'spec.containers[1].image', 'no tag to follow', `${host}/acme/fixed`, short(first.fixed.digest), '-', '-']
  ])
  t.equal(lines.at(-1), '2 templates of 2 outdated: 3 of 5 tagged images moved; 1 with no tag to follow')
  t.equal(io.err(), '')
  await registry.waitForRequests((requests) => requests.filter((request) => request.path.includes('/manifests/')).length >= 3)
  // The registry logs as each handler finishes: give a duplicate request the same chance to show up before counting.
  await new Promise((resolve) => setTimeout(resolve, 300))
  const manifests = registry.requests().filter((request) => request.path.includes('/manifests/'))
  const perTag = new Map<string, number>()
  for (const request of manifests) perTag.set(request.path, (perTag.get(request.path) ?? 0) + 1)
  t.same(Object.fromEntries(perTag), {
    '/v2/pause/manifests/3.10': 1,
    '/v2/acme/agent/manifests/1.4': 1,
    '/v2/acme/tools/manifests/latest': 1
  }, '5 tagged images in 2 templates, 3 distinct tags: one manifest request each')
  t.comment(`registry manifest requests: ${manifests.map((request) => `${request.method} ${request.path}`).join(', ')}`)
})

t.test('--output json: one object per image with full digests', async (t) => {
  const io = captureIo()
  t.equal(await main(['outdated', '--output', 'json', '--insecure-registry', host, agentFile], io), 1)
  const objects = io.out().trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
  t.same(objects.map((object) => [object['name'], object['field'], object['status']]), [
    ['agent', 'spec.pauseImage', 'current'],
    ['agent', 'spec.containers[0].image', 'moved'],
    ['agent', 'spec.containers[1].image', 'moved'],
    ['agent-microvm', 'spec.pauseImage', 'current'],
    ['agent-microvm', 'spec.containers[0].image', 'moved'],
    ['agent-microvm', 'spec.containers[1].image', 'no-tag']
  ])
  t.match(objects[1], { file: agentFile, index: 0, namespace: 'team-a', tag: `${host}/acme/agent:1.4`, pinnedDigest: first.agent.digest, currentDigest: moved.agent.digest, error: null })
})

t.test('--write: renamed templates with the new digests that pass check --require-digest', async (t) => {
  const out = join(dir, 'proposed')
  const io = captureIo()
  t.equal(await main(['outdated', '--write', out, '--insecure-registry', host, agentFile], io), 1)
  const names = (await readdir(out)).sort()
  const hex = (digest: string): string => digest.slice('sha256:'.length, 'sha256:'.length + 12)
  t.same(names, [`team-a_agent-${hex(moved.agent.digest)}.yaml`, `team-a_agent-microvm-${hex(moved.agent.digest)}.yaml`])
  const written = parse(await readFile(join(out, names[0] ?? ''), 'utf8')) as { metadata: { name: string }, spec: { pauseImage: string, containers: Array<{ image: string }> } }
  t.equal(written.metadata.name, `agent-${hex(moved.agent.digest)}`)
  t.equal(written.spec.pauseImage, `${host}/pause:3.10@${first.pause.digest}`, 'the current image is kept')
  t.same(written.spec.containers.map((container) => container.image),
    [`${host}/acme/agent:1.4@${moved.agent.digest}`, `${host}/acme/tools:latest@${moved.tools.digest}`])
  const check = captureIo()
  t.equal(await main(['check', '--require-digest', out], check), 0, 'check --require-digest passes', { stdout: check.out() })
  const suffixed = captureIo()
  t.equal(await main(['outdated', '--write', join(dir, 'suffixed'), '--suffix', 'cve-fix', '--insecure-registry', host, agentFile], suffixed), 1)
  t.same((await readdir(join(dir, 'suffixed'))).sort(), ['team-a_agent-cve-fix.yaml', 'team-a_agent-microvm-cve-fix.yaml'])
})

t.test('nothing moved: exit 0 and one summary line', async (t) => {
  const current = join(dir, 'current.yaml')
  await writeFile(current, template('current', [['agent', `${host}/acme/agent:1.4@${moved.agent.digest}`]]).replace(`${host}/pause:3.10`, `${host}/pause:3.10@${first.pause.digest}`))
  const io = captureIo()
  t.equal(await main(['outdated', '--insecure-registry', host, current], io), 0)
  t.equal(io.out(), '0 templates of 1 outdated: 0 of 2 tagged images moved\n')
})

t.test('a registry that is down: exit 2, its host named, the other lookups still reported', async (t) => {
  const other = await startRegistry({ mode: 'http', t })
  const elsewhere = await push(other, buildOciImage(), 'acme/other', '1')
  const mixed = join(dir, 'mixed.yaml')
  await writeFile(mixed, template('mixed', [['agent', `${host}/acme/agent:1.4@${first.agent.digest}`], ['other', `${other.host}/acme/other:1@${elsewhere.digest}`]])
    .replace(`${host}/pause:3.10`, `${host}/pause:3.10@${first.pause.digest}`))
  await other.stop()
  const io = captureIo()
  t.equal(await main(['outdated', '--insecure-registry', host, '--insecure-registry', other.host, '--timeout', '5', mixed], io), 2, 'exit 2')
  t.match(io.out(), /spec\.containers\[0\]\.image +moved/, 'the reachable registry\'s answer is still reported')
  t.match(io.out(), /spec\.containers\[1\]\.image +lookup failed/)
  t.match(io.err(), `team-a/mixed: spec.containers[1].image: ${other.host}/acme/other:1: `)
  t.match(io.err(), other.host, 'the registry is named')
  t.comment(io.err())
})

t.test('usage and input errors: exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['-n', 'team-a', agentFile], /select cluster templates/],
    [['-n', 'a', '-A'], /-n NAMESPACE or -A, not both/],
    [['--suffix', 'x', agentFile], /give --write too/],
    [['--write', dir, '--suffix', 'Bad', agentFile], /--suffix must be lowercase/],
    [['--output', 'yaml', agentFile], /--output must be table or json/],
    [[join(dir, 'missing.yaml')], /cannot read/]
  ]
  for (const [args, message] of cases) {
    const io = captureIo()
    t.equal(await main(['outdated', ...args], io), 2, args.join(' '))
    t.match(io.err(), message)
  }
})
