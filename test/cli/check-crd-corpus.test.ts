/**
 * Issue 15 §2: `check --crd` against the real thing. A corpus of ActorTemplates (the README's example and Substrate's
 * demo templates, each rendered to tag and to digest form, every constraint of the CRD broken on each of them where
 * it applies, valid variants at the limits, edge values (null, rune counts, fractions), pairs of faults, metadata as
 * users write it, and YAML whose plain scalars YAML 1.1 and 1.2 read differently) goes through one
 * `check --crd --output json` over a directory and
 * through a real kube-apiserver with the same CRD and the shipped webhooks installed (`kubectl create
 * --dry-run=server`, the webhook a local process pinning tags against a real registry). For every document the
 * verdict must agree and every field path the apiserver names must appear in check's output; the figure is printed
 * and anything below 100% fails.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { main } from '../../src/cli/main.js'
import { installCrd, startCluster } from '../support/cluster.js'
import { buildOciImage } from '../support/oci-layout.js'
import { pushImage } from '../support/push.js'
import { startRegistry } from '../support/registry.js'
import { writeTlsFiles } from '../support/tls.js'
import { applyObjects, shippedWebhookConfigurations, withUrlClientConfig } from '../support/webhook-configs.js'
import { buildWebhook, startWebhook } from '../support/webhook-process.js'
import { createNamespace, waitForWebhooks } from '../e2e/harness.js'
import { combined, constraintKey, constraintsOf, mutantsOf, type Json, type Schema } from './crd-corpus.js'
import { ruleBreakers } from './crd-corpus-breakers.js'
import { metadataVariants } from './crd-corpus-metadata.js'
import { validVariants } from './crd-corpus-valid.js'
import { env, unconvertibleScalars, yamlText, yamlVariants } from './crd-corpus-yaml.js'
import { captureIo } from './io.js'

t.setTimeout(15 * 60 * 1000)

const crdFile = 'test/fixtures/crd/actortemplates-rules.ate.dev.yaml'
const basesFile = 'test/fixtures/crd/corpus-bases.yaml'
type Template = { metadata: { name: string, namespace: string }, spec: Record<string, Json> & { containers: Array<Record<string, Json>> } } & Record<string, Json>

const [cluster, registry] = await Promise.all([startCluster(), startRegistry({ mode: 'http' }), buildWebhook()])
t.teardown(() => cluster.stop())
t.teardown(() => registry.close())
const dir = await mkdtemp(join(tmpdir(), 'atw-corpus-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

// Every repository the bases name, with one image; the tag form's tags must resolve for the webhook to pin them.
const image = buildOciImage()
const repositories = ['pause', 'acme/agent', 'demos/agent-secret', 'claude-multiplex-demo-workload', 'demos/counter',
  'demos/multi-template/fspersist', 'demos/sandbox', 'e2e/fixtures/probe']
const tls = await writeTlsFiles(join(dir, 'tls'), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
await Promise.all([
  installCrd(cluster, crdFile),
  // One repository's tags one after the other: two uploads of the same blob at once can fail with DIGEST_INVALID.
  ...repositories.map(async (repo) => {
    await pushImage(registry, image, repo, '1.0')
    await pushImage(registry, image, repo, '3.10')
  })
])
const webhook = await startWebhook({ tls, args: ['--insecure-registry', registry.host], config: { server: { shutdownDelaySeconds: 0 } }, t })
await applyObjects(cluster, withUrlClientConfig(await shippedWebhookConfigurations(cluster), { baseUrl: webhook.url, caPem: tls.caPem }))
await createNamespace(cluster, 'probe')
await waitForWebhooks(cluster, 'probe', `${registry.host}/pause:3.10`, `${registry.host}/pause@${image.digest}`)

/** The bases in one form: `tag` leaves `:1.0` for the webhook to pin, `digest` writes what `ko resolve` writes. */
function render (text: string, form: 'tag' | 'digest'): Template[] {
  const rendered = text.replaceAll('REGISTRY', registry.host).replaceAll('{IMAGE_SUFFIX}', form === 'tag' ? ':1.0' : `@${image.digest}`)
  const pinnedPause = form === 'tag' ? rendered : rendered.replaceAll(`${registry.host}/pause:3.10`, `${registry.host}/pause:3.10@${image.digest}`)
  return parseAllDocuments(pinnedPause).map((document) => document.toJS() as Template)
}

interface Entry { label: string, object: Json, expectation: 'valid' | 'mutant' | 'pair' | 'yaml' | 'metadata', format?: 'yaml' }

const crd = parse(await readFile(crdFile, 'utf8')) as { spec: { versions: Array<{ served: boolean, schema: { openAPIV3Schema: Schema } }> } }
const schema = crd.spec.versions.find((version) => version.served)?.schema.openAPIV3Schema
if (schema === undefined) throw new Error(`${crdFile} serves no version with a schema`)
const basesText = await readFile(basesFile, 'utf8')
const corpus: Entry[] = []
const covered = new Set<string>()
for (const form of ['tag', 'digest'] as const) {
  for (const base of render(basesText, form)) {
    const name = `${base.metadata.namespace}/${base.metadata.name} (${form})`
    corpus.push({ label: `${name}: as written`, object: base, expectation: 'valid' })
    // The edge probes (null, rune counts, fractions) on the base that sets every field; the others get the breakers.
    const mutants = mutantsOf(name, base, schema, ruleBreakers, base.metadata.name === 'every-field')
    for (const mutant of mutants) {
      covered.add(constraintKey(mutant.constraint, schema))
      corpus.push({ label: mutant.label, object: mutant.object, expectation: 'mutant' })
    }
    // Two faults at once: each broken rule beside a blocking schema error (the apiserver then skips CEL) and beside a
    // non-blocking one (CEL still runs), where the ordering of the apiserver's checks shows.
    if (base.metadata.name === 'every-field') {
      const beside = ['enum', 'pattern'].map((keyword) => mutants.find((mutant) => mutant.constraint.keyword === keyword))
      for (const rule of mutants.filter((mutant) => mutant.constraint.keyword.startsWith('rule:'))) {
        for (const other of beside) {
          const object = other === undefined ? undefined : combined(other, rule)
          if (object !== undefined && other !== undefined) corpus.push({ label: `${rule.label} + ${other.constraint.path} ${other.constraint.keyword}`, object, expectation: 'pair' })
        }
      }
    }
    if (base.metadata.name !== 'every-field') continue
    // The digest form's valid variants are written as YAML, the tag form's as JSON: check reads both as kubectl does.
    for (const [variant, change] of validVariants) {
      corpus.push({ label: `${name}: ${variant}`, object: { ...base, spec: change(base.spec) }, expectation: 'valid', ...(form === 'digest' ? { format: 'yaml' as const } : {}) })
    }
    if (form === 'tag') for (const [variant, change] of metadataVariants) corpus.push({ label: `${name}: metadata ${variant}`, object: { ...base, metadata: change(base.metadata) }, expectation: 'metadata' })
    for (const [variant, change] of yamlVariants) corpus.push({ label: `${name}: ${variant}`, object: { ...base, spec: change(base.spec) }, expectation: 'yaml', format: 'yaml' })
  }
}

t.test('the corpus breaks every constraint of the CRD', async (t) => {
  const all = constraintsOf(schema).map((constraint) => constraintKey(constraint, schema))
  const uncovered = all.filter((key) => !covered.has(key))
  t.comment(`${all.length} constraints in ${crdFile}; corpus of ${corpus.length} documents (${corpus.filter((entry) => entry.expectation === 'valid').length} written valid, ${corpus.filter((entry) => entry.expectation === 'mutant').length} mutants, ${corpus.filter((entry) => entry.expectation === 'pair').length} pairs of faults, ${corpus.filter((entry) => entry.expectation === 'yaml').length} YAML 1.1/1.2 traps, ${corpus.filter((entry) => entry.expectation === 'metadata').length} metadata variants; ${corpus.filter((entry) => entry.format === 'yaml').length} files in YAML)`)
  t.same(uncovered, [], 'every constraint is broken by at least one document (a new one needs a base value or a rule breaker)')
  t.ok(corpus.length >= 300, `at least 300 documents (${corpus.length})`)
})

/** `field: Invalid value…` lines of a CRD error, strict decoding's `unknown field "…"`, and the webhooks' `field: …`. */
function apiserverFields (block: string): string[] {
  // One error prints `is invalid: field: …`; several print `is invalid: [field: …, field: …]` (kubectl's aggregate).
  const fields = [...block.matchAll(/(?:^|\* |is invalid: \[?|, )(<nil>|[A-Za-z][\w.[\]]*): (?:Invalid value|Required value|Unsupported value|Too long|Too many|Duplicate value|Forbidden)/gm)].map((match) => match[1] ?? '')
  const unknown = [...block.matchAll(/unknown field "([^"]+)"/g)].map((match) => match[1] ?? '')
  const denial = /denied the request: (?:\d+ problems: )?([\s\S]*)$/.exec(block)?.[1] ?? ''
  const webhook = denial.split('; ').map((part) => /^(spec[\w.[\]]*|metadata[\w.[\]]*): /.exec(part)?.[1]).filter((field): field is string => field !== undefined)
  return [...new Set([...fields, ...unknown, ...webhook])]
}

interface ApiserverVerdict { accepted: boolean, text: string }

/** kubectl over many files at once: each failure is an `Error from server …: error when creating "FILE": …` block. */
async function apiserverVerdicts (files: readonly string[]): Promise<Map<string, ApiserverVerdict>> {
  const chunks: string[][] = []
  for (let index = 0; index < files.length; index += 40) chunks.push(files.slice(index, index + 40))
  const verdicts = new Map<string, ApiserverVerdict>()
  const run = async (chunk: readonly string[]): Promise<void> => {
    const result = await cluster.kubectl(['create', '--dry-run=server', ...chunk.flatMap((file) => ['-f', file])], { timeoutMs: 300_000 })
    // Files kubectl cannot even send (YAML that JSON cannot carry, JSON that ObjectMeta cannot hold) are listed on one
    // line at the end: `[unable to decode "FILE": …, error parsing FILE: …]`, without the brackets when there is one.
    const clientLine = /^(?:\[|error: )?(?=unable to decode|error parsing)/
    for (const line of result.stderr.split('\n').filter((candidate) => clientLine.test(candidate))) {
      const found = [...line.matchAll(/(?:unable to decode "([^"]+)"|error parsing ([^\s:]+)): /g)]
      found.forEach((match, index) => {
        const file = match[1] ?? match[2] ?? ''
        const end = found[index + 1]?.index ?? line.length
        verdicts.set(file, { accepted: false, text: `kubectl: ${line.slice(match.index, end).replace(/(, |\])$/, '')}` })
      })
    }
    const serverSide = result.stderr.split('\n').filter((line) => !clientLine.test(line)).join('\n')
    const blocks = serverSide.split(/^(?=Error from server|error: )/m).filter((block) => block.trim() !== '' && !block.startsWith('Warning: '))
    for (const block of blocks) {
      const file = /error when creating "([^"]+)"/.exec(block)?.[1]
      if (file === undefined) throw new Error(`kubectl printed an error for no file:\n${block}`)
      verdicts.set(file, { accepted: false, text: block.replace(/^Warning: .*\n/gm, '').trim() })
    }
    for (const file of chunk) if (!verdicts.has(file)) verdicts.set(file, { accepted: true, text: '' })
    const created = result.stdout.split('\n').filter((line) => line.endsWith('(server dry run)')).length
    if (created !== chunk.filter((file) => verdicts.get(file)?.accepted === true).length) {
      throw new Error(`kubectl created ${created} of ${chunk.length}, but ${chunk.filter((file) => verdicts.get(file)?.accepted === false).length} failed:\n${result.stdout}\n${result.stderr}`)
    }
  }
  const queue = [...chunks]
  await Promise.all(Array.from({ length: 3 }, async () => {
    for (let chunk = queue.shift(); chunk !== undefined; chunk = queue.shift()) await run(chunk)
  }))
  return verdicts
}

interface CheckLine { file: string, verdict: string, problems: Array<{ field: string, reason: string, message: string }>, notes: string[] }

t.test('check --crd agrees with kube-apiserver and the webhooks on every document of the corpus', async (t) => {
  const documents = join(dir, 'corpus')
  await mkdir(documents)
  const labels = new Map<string, Entry>()
  for (const [index, entry] of corpus.entries()) {
    const file = join(documents, `${String(index).padStart(4, '0')}.${entry.format ?? 'json'}`)
    labels.set(file, entry)
    await writeFile(file, entry.format === 'yaml' ? yamlText(entry.object) : JSON.stringify(entry.object))
  }
  const namespaces = new Set(corpus.map((entry) => (entry.object as Template).metadata.namespace))
  await Promise.all([...namespaces].map((namespace) => createNamespace(cluster, namespace)))

  let started = performance.now()
  const io = captureIo()
  const code = await main(['check', '--crd', crdFile, '--output', 'json', documents], io)
  const checkMs = performance.now() - started
  t.not(code, 2, `check ran (${io.err()})`)
  const checked = new Map(io.out().trim().split('\n').map((line) => JSON.parse(line) as CheckLine).map((line) => [line.file, line]))
  started = performance.now()
  const files = [...labels.keys()]
  const kube = await apiserverVerdicts(files)
  const kubeMs = performance.now() - started

  let agreed = 0
  const disagreements: string[] = []
  const tally = { accepted: 0, rejected: 0 }
  let pathsCompared = 0
  for (const file of files) {
    const entry = labels.get(file)
    const mine = checked.get(file)
    const theirs = kube.get(file)
    if (entry === undefined || mine === undefined || theirs === undefined) {
      disagreements.push(`${basename(file)} ${entry?.label ?? ''}: missing from ${mine === undefined ? 'check' : 'kubectl'}'s output`)
      continue
    }
    tally[theirs.accepted ? 'accepted' : 'rejected']++
    const checkText = mine.problems.map((problem) => `${problem.field === '' ? '<nil>' : problem.field}: ${problem.message}`).join('\n')
    const named = apiserverFields(theirs.text)
    pathsCompared += named.length
    const missing = named.filter((field) => !checkText.includes(`${field}:`))
    const checkAccepts = mine.verdict === 'admissible'
    if (checkAccepts === theirs.accepted && missing.length === 0) {
      agreed++
      continue
    }
    disagreements.push(`${basename(file)} ${entry.label}: apiserver ${theirs.accepted ? 'accepts' : 'rejects'}, check ${mine.verdict}` +
      `${missing.length > 0 ? `; paths missing from check: ${missing.join(', ')}` : ''}\n    apiserver: ${theirs.text.replaceAll('\n', '\n    ')}\n    check: ${checkText.replaceAll('\n', '\n    ')}`)
  }
  const unexpectedValid = files.filter((file) => labels.get(file)?.expectation === 'valid' && kube.get(file)?.accepted !== true)
  t.comment(`check --crd over ${files.length} documents: ${Math.round(checkMs)} ms in process; kubectl create --dry-run=server: ${Math.round(kubeMs)} ms (40 files per kubectl, 3 at once)`)
  t.comment(`apiserver accepted ${tally.accepted}, rejected ${tally.rejected}; ${pathsCompared} field paths named by the apiserver looked up in check's output`)
  if (disagreements.length > 0) t.comment(`disagreements:\n${disagreements.join('\n')}`)
  t.comment(`agreement: ${agreed}/${files.length} (${(100 * agreed / files.length).toFixed(1)}%)`)
  t.equal(agreed, files.length, 'agreement is 100%')
  t.same(unexpectedValid.map((file) => labels.get(file)?.label), [], 'the documents written valid are accepted by the apiserver (the corpus is what it claims)')
  t.ok(tally.accepted > 0 && tally.rejected > 0, 'both verdicts occur')
  t.ok(pathsCompared >= tally.rejected, 'the rejections name field paths (the comparison is not empty)')
})

t.test('a plain scalar JSON cannot carry stops both kubectl and check at the file', async (t) => {
  const [base] = render(basesText, 'digest').filter((template) => template.metadata.name === 'every-field')
  if (base === undefined) throw new Error('no every-field base')
  const unconvertible = join(dir, 'unconvertible')
  await mkdir(unconvertible)
  let agreed = 0
  for (const [index, scalar] of unconvertibleScalars.entries()) {
    const file = join(unconvertible, `${index}.yaml`)
    await writeFile(file, yamlText({ ...base, spec: env(base.spec, scalar) }))
    const io = captureIo()
    const code = await main(['check', '--crd', crdFile, file], io)
    const kube = await cluster.kubectl(['create', '--dry-run=server', '-f', file])
    const kubectlStops = kube.code !== 0 && kube.stderr.includes('error converting YAML to JSON')
    const checkStops = code === 2 && io.err().includes('error converting YAML to JSON')
    t.ok(kubectlStops, `kubectl stops at env value ${scalar}: ${kube.stderr.trim()}`)
    t.ok(checkStops, `check stops at env value ${scalar}: ${io.err().trim()}`)
    if (kubectlStops && checkStops) agreed++
  }
  t.comment(`unconvertible scalars: ${agreed}/${unconvertibleScalars.length} agree`)
})
