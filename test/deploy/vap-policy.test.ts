/**
 * The ValidatingAdmissionPolicy of overlays/vap, evaluated by a real kube-apiserver with the ActorTemplate CRD: CEL
 * has no JavaScript evaluator, so its expressions and messages are only proven here. No webhook is registered, which is
 * exactly the situation the policy exists for. (Applying every manifest, and the certificate bootstrap against the
 * apiserver, belong to the e2e suite.)
 */
import { join } from 'node:path'
import t from 'tap'
import { installCrd, startCluster } from '../support/cluster.js'
import { build, MANIFESTS } from './kustomize.js'

t.setTimeout(60 * 60 * 1000)

const cluster = await startCluster()
t.teardown(() => cluster.stop())
await installCrd(cluster)
const policy = await build(join(MANIFESTS, 'overlays', 'vap', 'policy'))
const applied = await cluster.kubectl(['apply', '-f', '-'], { input: policy.map((object) => JSON.stringify(object)).join('\n') })
if (applied.code !== 0) throw new Error(`cannot apply the policy: ${applied.stderr}`)
await cluster.kubectl(['create', 'namespace', 'team-a'])

const sha256 = `@sha256:${'3f1e'.repeat(16)}`
const sha512 = `@sha512:${'ab'.repeat(64)}`

function template (name: string, pauseImage: string, containers: Array<{ name: string, image: string }>): string {
  return JSON.stringify({
    apiVersion: 'ate.dev/v1alpha1',
    kind: 'ActorTemplate',
    metadata: { name, namespace: 'team-a' },
    spec: { pauseImage, containers, snapshotsConfig: { location: 'gs://bucket/prefix/' } }
  })
}

async function create (body: string): Promise<{ code: number | null, output: string }> {
  const result = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { input: body })
  return { code: result.code, output: `${result.stdout}${result.stderr}` }
}

// A new policy takes effect after the apiserver's informers see it and the binding: poll with a case it must deny.
const probe = template('probe', `registry.k8s.io/pause${sha256}`, [{ name: 'pause', image: `a${sha256}` }])
for (let attempt = 0; attempt < 120 && (await create(probe)).code === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 500))

t.test('pinned templates pass: tag+digest, digest only, sha512, no containers', async (t) => {
  const cases = [
    template('both', `registry.k8s.io/pause:3.10.2${sha256}`, [{ name: 'agent', image: `ghcr.io/acme/agent:1.4${sha256}` }]),
    template('digest', `registry.k8s.io/pause${sha256}`, [{ name: 'agent', image: `localhost:5001/team/app${sha512}` }]),
    template('none', `registry.k8s.io/pause${sha256}`, [])
  ]
  for (const body of cases) t.match(await create(body), { code: 0, output: /created \(server dry run\)/ })
})

t.test('a container named pause is denied, naming its field', async (t) => {
  const denied = await create(template('pause', `registry.k8s.io/pause${sha256}`, [{ name: 'agent', image: `a${sha256}` }, { name: 'pause', image: `b${sha256}` }]))
  t.not(denied.code, 0)
  t.match(denied.output, /ValidatingAdmissionPolicy 'pinned\.actortemplates\.ate\.dev'.*denied request: spec\.containers\[1\]\.name: "pause" is reserved for the sandbox container; choose another name/)
})

t.test('digests that the CRD\'s contains(\'@\') lets through are denied, each image named', async (t) => {
  const pause = await create(template('bad-pause', `registry.k8s.io/pause@sha256:${'A'.repeat(64)}`, []))
  t.not(pause.code, 0)
  t.match(pause.output, /spec\.pauseImage: registry\.k8s\.io\/pause@sha256:A{64} is not pinned to a digest/)
  const images = await create(template('bad-images', `registry.k8s.io/pause${sha256}`, [
    { name: 'ok', image: `a${sha256}` }, { name: 'short', image: 'b@sha256:123' }, { name: 'sha384', image: `c@sha384:${'c'.repeat(96)}` }
  ]))
  t.not(images.code, 0)
  t.match(images.output, /spec\.containers\[1\]\.image: b@sha256:123, spec\.containers\[2\]\.image: c@sha384:c{96}: not pinned to a digest/)
})

t.test('a plain tag is stopped by the CRD first; the policy agrees', async (t) => {
  const tag = await create(template('tag', 'registry.k8s.io/pause:3.10', []))
  t.not(tag.code, 0)
  t.match(tag.output, /All images must be pinned/)
})
