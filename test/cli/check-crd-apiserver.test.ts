import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { main } from '../../src/cli/main.js'
import { formatCrdProblem, formatUnchecked, parseCrds, validateAgainstCrd } from '../../src/crd/index.js'
import { installCrd, startCluster } from '../support/cluster.js'
import { captureIo } from './io.js'

// Issue 15 §2, first slice: each document of test/fixtures/crd/differential.yaml goes through `check --crd` and
// through a real kube-apiserver (`kubectl create --dry-run=server`, kubectl's default strict field validation) with
// the same CRD installed. Verdicts must agree, and every field path the apiserver names must appear in check's output.

t.setTimeout(15 * 60 * 1000)

const crdFile = 'test/fixtures/crd/actortemplates-rules.ate.dev.yaml'

/** `spec.x[0].y: Invalid value…` lines (one error or `* `-bulleted) and strict decoding's `unknown field "…"`. */
function apiserverFields (stderr: string): string[] {
  const fields = [...stderr.matchAll(/(?:^|\* |is invalid: )(<nil>|[A-Za-z][\w.[\]]*): (?:Invalid value|Required value|Unsupported value|Too long|Too many|Duplicate value|Forbidden)/gm)].map((match) => match[1] ?? '')
  const unknown = [...stderr.matchAll(/unknown field "([^"]+)"/g)].map((match) => match[1] ?? '')
  return [...fields, ...unknown]
}

/** The apiserver's `field: Type: …` lines of an Invalid response, for a verbatim comparison. */
function apiserverLines (stderr: string): string[] {
  const body = /is invalid: ([\s\S]*)$/.exec(stderr.trim())?.[1]
  if (body === undefined) return []
  return body.split('\n').map((line) => line.trim().replace(/^\* /, '')).filter((line) => line !== '')
}

const cluster = await startCluster()
t.teardown(() => cluster.stop())

t.test('check --crd agrees with kube-apiserver', async (t) => {
  await installCrd(cluster, crdFile)
  const dir = await mkdtemp(join(tmpdir(), 'atw-differential-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const documents = parseAllDocuments(await readFile('test/fixtures/crd/differential.yaml', 'utf8')).map((document) => document.toJS() as { metadata: { name?: string, generateName?: string } })
  let agreed = 0
  const rows: string[] = []
  for (const [index, document] of documents.entries()) {
    const name = `${index + 1}-${(document.metadata.name ?? document.metadata.generateName ?? 'unnamed').slice(0, 40)}`
    const file = join(dir, `${name}.json`)
    await writeFile(file, JSON.stringify(document))
    const io = captureIo()
    const checkCode = await main(['check', '--crd', crdFile, file], io)
    const kube = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(document) })
    const checkAccepts = checkCode === 0
    const kubeAccepts = kube.code === 0
    const missing = apiserverFields(kube.stderr).filter((field) => !io.out().includes(field === '<nil>' ? '<nil>:' : `${field}:`) && !io.out().includes(`${field}: unknown field`))
    const same = checkAccepts === kubeAccepts && missing.length === 0
    if (same) agreed++
    rows.push(`${same ? 'agree   ' : 'DISAGREE'} ${name}: apiserver ${kubeAccepts ? 'accepts' : 'rejects'}, check ${checkAccepts ? 'accepts' : 'rejects'}${missing.length > 0 ? `; paths missing from check: ${missing.join(', ')}` : ''}`)
    t.equal(checkAccepts, kubeAccepts, `${name}: verdict\n--- apiserver:\n${kube.stderr}${kube.stdout}--- check:\n${io.out()}`)
    t.same(missing, [], `${name}: every apiserver field path is in check's output\n--- apiserver:\n${kube.stderr}--- check:\n${io.out()}`)
    const verbatim = apiserverLines(kube.stderr).filter((line) => !io.out().includes(`  ${line}\n`))
    t.same(verbatim, [], `${name}: the apiserver's lines appear verbatim in check's output`)
    t.comment(`${name}\n  apiserver (${String(kube.code)}): ${(kube.stderr || kube.stdout).trim().replaceAll('\n', '\n    ')}\n  check (${checkCode}): ${io.out().trim().replaceAll('\n', '\n    ')}`)
  }
  t.comment(rows.join('\n'))
  t.comment(`agreement: ${agreed}/${documents.length} (${(100 * agreed / documents.length).toFixed(1)}%)`)
  t.equal(agreed, documents.length, 'agreement is 100%')
})

// The schema features the ActorTemplate CRD does not use, through the core directly (check reads only ActorTemplates).
const widgets: Array<[string, Record<string, unknown>]> = [
  ['int-or-string-int', { port: 8080 }],
  ['int-or-string-bool', { port: true }],
  ['nullable-null', { note: null }],
  ['map-null-value', { labels: { a: null, b: 'x' } }],
  ['map-nullable-null', { notes: { a: null } }],
  ['list-null-item', { tags: ['a', null] }],
  ['set-repeat', { tags: ['a', 'b', 'a'] }],
  ['map-repeat', { ports: [{ name: 'http', number: 80 }, { name: 'http', number: 81 }] }],
  ['message-expression', { replicas: 7 }],
  ['message-expression-self', { replicas: 700 }],
  ['reason-field-path', { owner: 'root' }],
  ['optional-old-self', { owner: 'nobody' }],
  ['rule-runtime-error', { probe: {} }],
  ['preserve-unknown', { extra: { anything: { goes: 1 }, level: 4 } }],
  ['url-rule', { url: 'https://example.com' }]
]

t.test('the core agrees with kube-apiserver on int-or-string, nullable, list types, rule options', async (t) => {
  const featuresFile = 'test/fixtures/crd/features.example.com.yaml'
  await installCrd(cluster, featuresFile)
  const [crd] = parseCrds(await readFile(featuresFile, 'utf8'), featuresFile)
  if (crd === undefined) throw new Error('no CRD')
  for (const [name, spec] of widgets) {
    const document = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name, namespace: 'default' }, spec }
    const verdict = validateAgainstCrd(document, crd)
    const lines = [...verdict.problems.map(formatCrdProblem), ...verdict.unknownFields.map((field) => `unknown field "${field}"`)]
    const kube = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(document) })
    t.comment(`${name}\n  apiserver (${String(kube.code)}): ${(kube.stderr || kube.stdout).trim()}\n  core: ${lines.join(' | ')} ${verdict.unchecked.map(formatUnchecked).join(' | ')}`)
    if (verdict.unchecked.some((unchecked) => !unchecked.transition)) continue
    t.equal(lines.length === 0, kube.code === 0, `${name}: verdict`)
    t.same(apiserverLines(kube.stderr).filter((line) => !lines.includes(line)), [], `${name}: the apiserver's lines are the core's`)
  }
})
