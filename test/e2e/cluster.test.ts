/**
 * Proves the end-to-end test cluster is real: a kube-apiserver backed by etcd that serves the
 * ActorTemplate CRD and enforces its CEL rules (pinned images, immutable spec) — the upstream
 * behaviour the webhook is designed around (spec-checklist §0).
 *
 * The first run builds the binaries (tens of minutes on 2 cores); run `bash scripts/build-cluster.sh`
 * beforehand so the test itself only starts processes.
 */
import { existsSync } from 'node:fs'
import t from 'tap'
import { installCrd, startCluster, type Cluster } from '../support/cluster.js'

t.setTimeout(60 * 60 * 1000)

const PINNED_PAUSE = 'registry.k8s.io/pause:3.10.2@sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4'
const PINNED_AGENT = `ghcr.io/acme/agent@sha256:${'3f1e'.repeat(16)}`
const PINNED_MESSAGE = 'All images must be pinned (changing the image invalidates snapshots)'

function template(name: string, namespace: string, image: string): string {
  return JSON.stringify({
    apiVersion: 'ate.dev/v1alpha1',
    kind: 'ActorTemplate',
    metadata: { name, namespace },
    spec: {
      pauseImage: PINNED_PAUSE,
      containers: [{ name: 'agent', image, command: ['/app/server'], readyz: { httpGet: { path: '/readyz', port: 80 } } }],
      snapshotsConfig: { location: 'gs://bucket/prefix/' },
      sandboxClass: 'gvisor'
    }
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
}

t.test('a real apiserver enforces the ActorTemplate CRD', async (t) => {
  const cluster: Cluster = await startCluster()
  let stopped = false
  t.teardown(async () => { if (!stopped) await cluster.stop() })

  t.match(cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/)
  t.ok(isAlive(cluster.pids.etcd), 'etcd is running')
  t.ok(isAlive(cluster.pids.apiserver), 'kube-apiserver is running')

  const version = await cluster.kubectl(['version', '-o', 'json'])
  t.equal(version.code, 0, 'kubectl version succeeds', { stderr: version.stderr })
  const serverVersion = (JSON.parse(version.stdout) as { serverVersion?: unknown }).serverVersion
  t.match(serverVersion, { major: '1', gitVersion: /^v1\.\d+\.\d+$/ }, 'the server reports its version')

  const whoami = await cluster.kubectl(['auth', 'can-i', '*', '*', '--all-namespaces'])
  t.equal(whoami.stdout.trim(), 'yes', 'the admin token is in system:masters')

  await installCrd(cluster)
  const resources = await cluster.kubectl(['api-resources', '--api-group=ate.dev', '-o', 'name'])
  t.equal(resources.code, 0, 'api-resources succeeds', { stderr: resources.stderr })
  t.equal(resources.stdout.trim(), 'actortemplates.ate.dev', 'the CRD is served')

  const ns = 'team-a'
  const createNs = await cluster.kubectl(['create', 'namespace', ns])
  t.equal(createNs.code, 0, 'namespace created', { stderr: createNs.stderr })

  // Accepted: every image is pinned.
  const created = await cluster.kubectl(['create', '-f', '-'], { input: template('agent', ns, PINNED_AGENT) })
  t.equal(created.code, 0, 'a pinned template is accepted', { stderr: created.stderr })
  t.equal(created.stdout.trim(), 'actortemplate.ate.dev/agent created')
  const stored = await cluster.kubectl(['get', 'actortemplate', 'agent', '-n', ns, '-o', 'jsonpath={.spec.containers[0].image}'])
  t.equal(stored.stdout, PINNED_AGENT, 'the stored image is the one sent')

  // Rejected by the CEL rule on containers[].image: a tag is not a pin.
  const tagged = await cluster.kubectl(['create', '-f', '-'], { input: template('tagged', ns, 'ghcr.io/acme/agent:1.4') })
  t.not(tagged.code, 0, 'a tag-only image is rejected')
  t.equal(tagged.stderr.trim(),
    `The ActorTemplate "tagged" is invalid: spec.containers[0].image: Invalid value: "ghcr.io/acme/agent:1.4": ${PINNED_MESSAGE}`)
  const missing = await cluster.kubectl(['get', 'actortemplate', 'tagged', '-n', ns])
  t.not(missing.code, 0, 'the rejected object was not stored')
  t.match(missing.stderr, '(NotFound)')

  // Same rule on pauseImage.
  const badPause = JSON.parse(template('bad-pause', ns, PINNED_AGENT)) as { spec: { pauseImage: string } }
  badPause.spec.pauseImage = 'registry.k8s.io/pause:3.10'
  const pause = await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(badPause) })
  t.not(pause.code, 0, 'a tag-only pauseImage is rejected')
  t.equal(pause.stderr.trim(),
    `The ActorTemplate "bad-pause" is invalid: spec.pauseImage: Invalid value: "registry.k8s.io/pause:3.10": ${PINNED_MESSAGE}`)

  // Rejected by the transition rule: the spec is immutable, even for another pinned image.
  const otherPin = `ghcr.io/acme/agent@sha256:${'ab'.repeat(32)}`
  const patch = JSON.stringify([{ op: 'replace', path: '/spec/containers/0/image', value: otherPin }])
  const changed = await cluster.kubectl(['patch', 'actortemplate', 'agent', '-n', ns, '--type=json', '-p', patch])
  t.not(changed.code, 0, 'changing the spec is rejected')
  t.equal(changed.stderr.trim(), 'The ActorTemplate "agent" is invalid: spec: Invalid value: Spec is immutable')
  const after = await cluster.kubectl(['get', 'actortemplate', 'agent', '-n', ns, '-o', 'jsonpath={.spec.containers[0].image}'])
  t.equal(after.stdout, PINNED_AGENT, 'the stored spec is unchanged')

  // Metadata is not spec: labelling the stored object still works.
  const labelled = await cluster.kubectl(['label', 'actortemplate', 'agent', '-n', ns, 'tier=test'])
  t.equal(labelled.code, 0, 'labelling (metadata only) is allowed', { stderr: labelled.stderr })

  const { dir, pids } = cluster
  await cluster.stop()
  stopped = true
  t.notOk(isAlive(pids.apiserver), 'kube-apiserver is gone')
  t.notOk(isAlive(pids.etcd), 'etcd is gone')
  t.notOk(existsSync(dir), 'the temp dir is removed')
  await cluster.stop() // idempotent
})
