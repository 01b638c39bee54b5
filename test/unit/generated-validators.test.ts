/**
 * Issue 17 §3: serve validates its config and the AdmissionReview envelope with code ajv generated ahead of time
 * (scripts/generate-validators.ts → src/generated/), so no replica loads ajv's compiler. The committed files must be
 * what the script makes now, must need nothing of ajv but its runtime helpers, and must decide exactly as ajv compiling
 * the same schema with the same options does (errors, defaults filled in).
 */
import t, { type Test } from 'tap'
import { Ajv, type ValidateFunction } from 'ajv'
import { committedAndGenerated, generateValidator, validatorSpecs, type ValidatorSpec } from '../../scripts/generate-validators.js'
import { configSchema } from '../../src/config-schema.js'
import { validateConfig } from '../../src/generated/config-validator.js'
import { validateReviewRequest } from '../../src/generated/review-request-validator.js'
import { loadReview, reviewNames } from '../fixtures/reviews/index.js'

function spec (file: string): ValidatorSpec {
  const found = validatorSpecs.find((candidate) => candidate.file === file)
  if (found === undefined) throw new Error(`no validator spec for ${file}`)
  return found
}

t.test('the committed generated validators are the generated ones (run `npx tsx scripts/generate-validators.ts` when this fails)', async (t) => {
  const files = await committedAndGenerated()
  t.equal(files.length, 2)
  for (const { spec, committed, generated } of files) t.equal(committed, generated, spec.file)
})

t.test('a change to a schema shows as drift', async (t) => {
  const changed = structuredClone(configSchema) as unknown as { properties: { logLevel: { enum: string[] } } }
  changed.properties.logLevel.enum = [...changed.properties.logLevel.enum, 'verbose']
  const config = spec('src/generated/config-validator.ts')
  const [committed] = (await committedAndGenerated()).filter((file) => file.spec === config)
  t.not(generateValidator({ ...config, schema: changed }), committed?.committed)
})

t.test('the generated modules import nothing of ajv but its runtime helpers', async (t) => {
  for (const { spec, committed } of await committedAndGenerated()) {
    const text = committed ?? ''
    const loads = [...text.matchAll(/require\("([^"]+)"\)|^import (?!type )[^\n]* from '([^']+)'/gm)].map((match) => match[1] ?? match[2])
    t.ok(loads.includes('ajv/dist/runtime/ucs2length'), `${spec.file}: minLength counts code points with ajv's runtime helper`)
    t.same(loads.filter((path) => path !== 'node:module' && !(path?.startsWith('ajv/dist/runtime/') ?? false)), [], `${spec.file} loads nothing else`)
  }
})

/** Both validators on a clone each, so defaults filled in by one are not seen by the other. */
function compare (t: Test, name: string, generated: ValidateFunction, compiled: ValidateFunction, input: unknown): void {
  const forGenerated = structuredClone(input)
  const forCompiled = structuredClone(input)
  t.equal(generated(forGenerated), compiled(forCompiled), `${name}: same verdict`)
  t.same(generated.errors, compiled.errors, `${name}: same errors`)
  t.same(forGenerated, forCompiled, `${name}: same defaults filled in`)
}

const configs: Record<string, unknown> = {
  'empty (every default)': {},
  'a full file': { server: { port: 9000, host: '127.0.0.1' }, registries: [{ host: 'localhost:5001', insecure: true, mirror: 'http://kind-registry:5000' }], credentials: { secrets: [{ namespace: 'a', name: 'b' }], providers: [{ provider: 'google', hosts: ['*.gcr.io'] }] }, logLevel: 'debug' },
  'every kind of problem at once': { server: { port: 70000, colour: 'blue' }, resolver: { manifestMethod: 'post', maxAttempts: 0 }, registries: [{ host: 'a.example' }, { insecure: true }, { host: 'bad host' }], extra: 1 },
  'a typo in a nested key': { credentials: { helpers: { timeoutSecond: 3 } }, certificates: { serviceName: 'Bad_Name' } },
  'wrong types': { server: 'no', admission: { maxContainers: 1.5 }, registries: {}, drift: { intervalMinutes: '5' } },
  'minLength counts code points': { credentials: { google: { serviceAccount: '' } }, registries: [{ host: 'x', caFile: '😀' }] }
}

t.test('the generated config validator decides as ajv compiling the schema does', async (t) => {
  const compiled = new Ajv({ ...spec('src/generated/config-validator.ts').options }).compile(configSchema)
  for (const [name, input] of Object.entries(configs)) {
    compare(t, name, validateConfig, compiled, input)
  }
  t.ok((validateConfig.errors?.length ?? 0) > 0, 'the corpus ends with errors to compare')
})

t.test('the generated review validator decides as ajv compiling the schema does', async (t) => {
  const reviewSpec = spec('src/generated/review-request-validator.ts')
  const compiled = new Ajv({ ...reviewSpec.options }).compile(reviewSpec.schema)
  const requests: Record<string, unknown> = Object.fromEntries(reviewNames.map((name) => [name, loadReview(name).request]))
  const base = loadReview('create-dry-run').request
  Object.assign(requests, {
    'no uid, no kind': { ...base, uid: undefined, kind: undefined },
    'empty uid, unknown operation': { ...base, uid: '', operation: 'PATCH' },
    'kinds without group and version': { ...base, kind: { kind: 'Pod' }, requestKind: { group: 1 }, resource: [] },
    'wrong scalar types': { ...base, name: 5, namespace: null, dryRun: 'yes', userInfo: 'x', subResource: {} }
  })
  for (const [name, input] of Object.entries(requests)) {
    compare(t, name, validateReviewRequest, compiled, input)
  }
  t.ok((validateReviewRequest.errors?.length ?? 0) > 0, 'the corpus ends with errors to compare')
})
