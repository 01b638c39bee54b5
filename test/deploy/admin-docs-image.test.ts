/**
 * Issue 14 §4 "The image": there is no published image, and the default kustomization must not silently point at one
 * that does not exist. It names a placeholder the kubelet refuses before any registry lookup (InvalidImageName), whose
 * name says what to do, and which every overlay's `images: - name: actortemplate-webhook` still replaces. Rendered with
 * kubectl's own kustomize (what `kubectl apply -k` runs): the kubectl on PATH and, when built, the e2e cluster's.
 */
import { existsSync } from 'node:fs'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import t from 'tap'
import { parse, stringify } from 'yaml'
import { parseReference } from '../../src/images/reference.js'
import { scriptOutput } from '../support/build-script.js'
import { writeTestOverlay } from '../support/test-overlay.js'
import { onlyBlock, readManifestsReadme, section } from './admin-docs-readme.js'
import { build, MANIFESTS, type K8sObject } from './kustomize.js'

const DIGEST = `sha256:${'4'.repeat(64)}`
const REPOSITORY = 'registry.example:5000/platform/actortemplate-webhook'

const kubectls = ['kubectl']
const clusterBin = (await scriptOutput('build-cluster.sh')).trim()
if (existsSync(join(clusterBin, 'kubectl'))) kubectls.push(join(clusterBin, 'kubectl'))

function webhookImage (objects: readonly K8sObject[]): string | undefined {
  const deployment = objects.find((object) => object.kind === 'Deployment') as { spec: { template: { spec: { containers: Array<{ image: string }> } } } } | undefined
  return deployment?.spec.template.spec.containers[0]?.image
}

const base = parse(await readFile(join(MANIFESTS, 'base', 'kustomization.yaml'), 'utf8')) as { images: Array<{ name: string, newTag?: string }> }
const shipped = base.images.find((image) => image.name === 'actortemplate-webhook')
const placeholder = `actortemplate-webhook:${shipped?.newTag ?? ''}`
const readme = await readManifestsReadme()

t.test('the shipped image is a placeholder that says what to do and that no registry can hold', async (t) => {
  t.equal(base.images.length, 1)
  t.match(shipped?.newTag, /no-published-image/, 'the tag itself tells the admin')
  t.match(shipped?.newTag, /README/, 'and where to read on')
  t.throws(() => parseReference(placeholder), /tag may contain only letters, digits, '_', '\.' and '-', found "\{"/,
    'invalid in the distribution/reference grammar the kubelet parses with (src/images/reference.ts implements it)')
  t.comment(`placeholder: ${placeholder}`)
  const top = section(readme, 'The image: build it first')
  t.match(top, '**There is no published image.**', 'the README says so at the top')
  t.ok(readme.indexOf('## The image: build it first') < readme.indexOf('## Layout, and why'), 'before anything else')
  t.match(top.replace(/\s+/g, ' '), placeholder, 'and names the placeholder an admin will see in `kubectl get pods`')
  t.match(top, 'npm run -s image -- --push REGISTRY/actortemplate-webhook')
})

for (const kubectl of kubectls) {
  t.test(`${kubectl}: manifests/ and its overlays render the placeholder; dev its local image`, async (t) => {
    t.equal(webhookImage(await build(MANIFESTS, kubectl)), placeholder, 'manifests/')
    for (const overlay of ['cert-manager', 'validating-webhook']) {
      t.equal(webhookImage(await build(join(MANIFESTS, 'overlays', overlay), kubectl)), placeholder, `overlays/${overlay}`)
    }
    t.equal(webhookImage(await build(join(MANIFESTS, 'overlays', 'dev'), kubectl)), 'localhost:5001/actortemplate-webhook:dev',
      'overlays/dev: its images: entry still matches the name under the placeholder')
  })

  t.test(`${kubectl}: the README's own overlay sets the image by digest`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'atw-admin-image-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const overlay = onlyBlock(readme, 'The image: build it first', 'yaml')
      .replace('../manifests', relative(dir, MANIFESTS))
      .replace('REGISTRY/actortemplate-webhook', REPOSITORY)
      .replace('sha256:…', DIGEST)
    await writeFile(join(dir, 'kustomization.yaml'), overlay)
    const objects = await build(dir, kubectl)
    t.equal(webhookImage(objects), `${REPOSITORY}@${DIGEST}`)
    t.notOk(JSON.stringify(objects).includes('no-published-image'), 'no trace of the placeholder left')
  })

  t.test(`${kubectl}: base edited as "kustomize edit set image" does renders the image by digest`, async (t) => {
    // `kustomize edit set image actortemplate-webhook=R@D` replaces the entry of that name whole (newTag dropped:
    // kustomize/commands/edit/set/setimage.go); done here to a copy of base/.
    const dir = await mkdtemp(join(tmpdir(), 'atw-admin-image-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    await cp(join(MANIFESTS, 'base'), dir, { recursive: true })
    const kustomization = parse(await readFile(join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>
    kustomization['images'] = [{ digest: DIGEST, name: 'actortemplate-webhook', newName: REPOSITORY }]
    await writeFile(join(dir, 'kustomization.yaml'), stringify(kustomization))
    t.equal(webhookImage(await build(dir, kubectl)), `${REPOSITORY}@${DIGEST}`)
  })
}

t.test('the e2e tests\' overlay (test/support/test-overlay.ts) still replaces the placeholder', async (t) => {
  const overlay = await writeTestOverlay({ over: '', image: `${REPOSITORY}@${DIGEST}`, insecureRegistry: '127.0.0.1:5000' })
  t.teardown(overlay.remove)
  t.equal(webhookImage(await build(overlay.dir)), `${REPOSITORY}@${DIGEST}`)
})
