import { readFileSync } from 'node:fs'
import t from 'tap'
import { actorTemplateJsonSchema } from '../fixtures/schema/crd-to-json-schema.js'
import { actorTemplateSchemaPath, schemaErrors } from '../fixtures/schema/index.js'
import { loadReview } from '../fixtures/reviews/index.js'

// The test copy of the ActorTemplate schema must stay what the CRD says, or patch checks prove nothing.

t.test('the JSON Schema is the CRD fixture converted, CEL contains(@) as pattern @', async (t) => {
  const committed = JSON.parse(readFileSync(actorTemplateSchemaPath, 'utf8')) as unknown
  t.same(committed, actorTemplateJsonSchema('test/fixtures/crd/actortemplates.ate.dev.yaml'),
    'regenerate test/fixtures/schema/actortemplate.schema.json with actorTemplateJsonSchema() after changing the CRD')
})

t.test('it accepts pinned templates and refuses what the apiserver would refuse', async (t) => {
  const pinned = loadReview('create-pinned').request.object
  t.same(schemaErrors(pinned), [])
  const cases: Array<[string, (object: typeof pinned) => void, RegExp]> = [
    ['tag pauseImage', (object) => { object.spec['pauseImage'] = 'registry.k8s.io/pause:3.10' }, /\/spec\/pauseImage: must match pattern "@"/],
    ['tag image', (object) => { object.spec.containers[0] = { name: 'a', image: 'nginx:1' } }, /\/spec\/containers\/0\/image: must match pattern "@"/],
    ['11 containers', (object) => { object.spec.containers = Array.from({ length: 11 }, (_, i) => ({ name: `c${i}`, image: `x@sha256:${'a'.repeat(64)}` })) }, /\/spec\/containers: must NOT have more than 10 items/],
    ['bad name', (object) => { object.spec.containers[0] = { name: 'Agent', image: `x@sha256:${'a'.repeat(64)}` } }, /\/spec\/containers\/0\/name: must match pattern/],
    ['unknown field', (object) => { object.spec['extra'] = 1 }, /\/spec: must NOT have additional properties/],
    ['non-string annotation', (object) => { object.metadata['annotations'] = { a: 1 } }, /\/metadata\/annotations\/a: must be string/]
  ]
  for (const [name, change, message] of cases) {
    const object = loadReview('create-pinned').request.object
    change(object)
    t.match(schemaErrors(object).join('\n'), message, name)
  }
})
