/**
 * The ValidatingAdmissionPolicy of the default install (manifests/base/validating-admission-policy.yaml), evaluated by
 * a real kube-apiserver with the ActorTemplate CRD: CEL has no JavaScript evaluator, so its expressions and messages
 * are only proven here. No webhook is registered, which is exactly the situation the policy exists for (issue 16 §2).
 * The reference grammar table runs through it: every case, pinned where it has no '@' (only strings with an '@' get
 * past the CRD's contains('@') rule to the policy), must get the verdict src/images/reference.ts gives.
 */
import t from 'tap'
import { parseReference } from '../../src/images/reference.js'
import { invalid, sha256 as digest256, valid } from '../fixtures/reference-grammar.js'
import { createActorTemplate } from '../support/apiserver-create.js'
import { installCrd, startCluster } from '../support/cluster.js'
import { build, MANIFESTS } from './kustomize.js'

t.setTimeout(60 * 60 * 1000)

const POLICY = 'pinned.actortemplates.ate.dev'
const cluster = await startCluster()
t.teardown(() => cluster.stop())
await installCrd(cluster)
const policy = (await build(MANIFESTS)).filter((object) => object.kind.startsWith('ValidatingAdmissionPolicy'))
if (policy.length !== 2) throw new Error(`manifests/ should ship the policy and its binding, found ${policy.length} objects`)
const applied = await cluster.kubectl(['apply', '-f', '-'], { input: policy.map((object) => JSON.stringify(object)).join('\n') })
if (applied.code !== 0) throw new Error(`cannot apply the policy: ${applied.stderr}\n${await cluster.logTail()}`)
await cluster.kubectl(['create', 'namespace', 'team-a'])

const sha256 = `@sha256:${'3f1e'.repeat(16)}`
const sha512 = `@sha512:${'ab'.repeat(64)}`

function template (name: string, pauseImage: string, containers: Array<{ name: string, image: string }>): object {
  return {
    apiVersion: 'ate.dev/v1alpha1',
    kind: 'ActorTemplate',
    metadata: { name, namespace: 'team-a' },
    spec: { pauseImage, containers, snapshotsConfig: { location: 'gs://bucket/prefix/' } }
  }
}

async function create (body: object): Promise<{ status: number, message: string }> {
  return await createActorTemplate(cluster, 'team-a', body, { dryRun: true })
}

// A new policy takes effect after the apiserver's informers see it and the binding: poll with a case it must deny.
const probe = template('probe', `registry.k8s.io/pause${sha256}`, [{ name: 'pause', image: `a${sha256}` }])
for (let attempt = 0; attempt < 120 && (await create(probe)).status === 201; attempt++) await new Promise((resolve) => setTimeout(resolve, 500))

const deniedBy = `admission webhook` // never: no webhook is registered here
const byPolicy = new RegExp(`ValidatingAdmissionPolicy '${POLICY.replaceAll('.', '\\.')}' with binding '${POLICY.replaceAll('.', '\\.')}' denied request: `)

t.test('pinned templates pass: tag+digest, digest only, sha512, no containers', async (t) => {
  const cases = [
    template('both', `registry.k8s.io/pause:3.10.2${sha256}`, [{ name: 'agent', image: `ghcr.io/acme/agent:1.4${sha256}` }]),
    template('digest', `registry.k8s.io/pause${sha256}`, [{ name: 'agent', image: `localhost:5001/team/app${sha512}` }]),
    template('none', `registry.k8s.io/pause${sha256}`, [])
  ]
  for (const body of cases) t.match(await create(body), { status: 201 })
})

t.test('a container named pause is denied, naming its field, with what to do', async (t) => {
  const denied = await create(template('pause', `registry.k8s.io/pause${sha256}`, [{ name: 'agent', image: `a${sha256}` }, { name: 'pause', image: `b${sha256}` }]))
  t.equal(denied.status, 403, 'Forbidden, as the webhook answers')
  t.match(denied.message, byPolicy)
  t.match(denied.message, 'spec.containers[1].name: "pause" is reserved for the sandbox container; choose another name')
  t.notMatch(denied.message, deniedBy)
})

t.test('duplicate container names are denied, each repeat naming the first', async (t) => {
  const denied = await create(template('dupes', `registry.k8s.io/pause${sha256}`, [
    { name: 'agent', image: `a${sha256}` }, { name: 'side', image: `b${sha256}` }, { name: 'agent', image: `c${sha256}` }, { name: 'side', image: `d${sha256}` }
  ]))
  t.equal(denied.status, 403)
  t.match(denied.message, byPolicy)
  t.match(denied.message, 'spec.containers[2].name: duplicate container name "agent" (also spec.containers[0].name); ' +
    'spec.containers[3].name: duplicate container name "side" (also spec.containers[1].name); container names must be unique')
})

t.test('bad digests that the CRD\'s contains(\'@\') lets through are denied, each image named, with what to do', async (t) => {
  const pause = await create(template('bad-pause', `registry.k8s.io/pause@sha256:${'A'.repeat(64)}`, []))
  t.equal(pause.status, 403)
  t.match(pause.message, byPolicy)
  t.match(pause.message, `spec.pauseImage: registry.k8s.io/pause@sha256:${'A'.repeat(64)} has no valid digest (sha256:<64 lowercase hex> or sha512:<128 lowercase hex>)`)
  t.match(pause.message, 'write <image>@sha256:<digest> or run "actortemplate-webhook pin"')
  const images = await create(template('bad-images', `registry.k8s.io/pause${sha256}`, [
    { name: 'ok', image: `a${sha256}` }, { name: 'short', image: 'b@sha256:123' }, { name: 'upper', image: `Team/App${sha256}` }
  ]))
  t.equal(images.status, 403)
  t.match(images.message, 'spec.containers[1].image: b@sha256:123 has no valid digest')
  t.match(images.message, `; spec.containers[2].image: Team/App${sha256} is not a valid image reference (registry host, lowercase repository path, tag, one @ before the digest)`)
  t.comment(images.message)
})

t.test('a plain tag is stopped by the CRD first; the policy never sees it', async (t) => {
  const tag = await create(template('tag', 'registry.k8s.io/pause:3.10', []))
  t.equal(tag.status, 422)
  t.match(tag.message, /All images must be pinned/)
  t.notMatch(tag.message, byPolicy)
})

/** What reference.ts says about a string the policy sees: admitted only if it parses and has a digest. */
function parserAccepts (reference: string): boolean {
  try {
    return parseReference(reference).digest !== undefined
  } catch {
    return false
  }
}

t.test('the reference grammar table through the policy: the same verdict as src/images/reference.ts', async (t) => {
  const texts = [...valid.map(([text]) => text), ...invalid.map(([text]) => text)]
  // Without an '@' the CRD denies first, so such a case reaches the policy only pinned (as the webhook or a user writes it).
  const sent = [...new Set(texts.map((text) => text.includes('@') ? text : `${text}@${digest256}`))]
  const disagreements: string[] = []
  let accepted = 0
  const started = performance.now()
  for (const [index, reference] of sent.entries()) {
    const expected = parserAccepts(reference)
    if (expected) accepted++
    for (const where of ['pauseImage', 'container'] as const) {
      const body = where === 'pauseImage'
        ? template(`g${index}`, reference, [])
        : template(`g${index}`, `registry.k8s.io/pause${sha256}`, [{ name: 'c', image: reference }])
      const answer = await create(body)
      const admitted = answer.status === 201
      const field = where === 'pauseImage' ? 'spec.pauseImage' : 'spec.containers[0].image'
      if (admitted !== expected) disagreements.push(`${JSON.stringify(reference).slice(0, 120)} as ${field}: parser ${expected ? 'accepts' : 'rejects'}, apiserver ${answer.status} ${answer.message.slice(0, 300)}`)
      else if (!admitted && !(byPolicy.test(answer.message) && answer.message.includes(`${field}: `))) {
        disagreements.push(`${JSON.stringify(reference).slice(0, 120)} as ${field}: rejected, but not by the policy naming the field: ${answer.status} ${answer.message.slice(0, 300)}`)
      }
    }
  }
  t.same(disagreements, [], `${sent.length} references (${accepted} admitted, ${sent.length - accepted} denied), each as pauseImage and as a container image`)
  t.ok(sent.length >= 150 && accepted >= 50 && sent.length - accepted >= 50, 'the table exercises both verdicts')
  t.comment(`grammar table: ${sent.length} references x 2 fields in ${Math.round(performance.now() - started)} ms`)
})
