/**
 * issue 14 §2: the chart's values schema takes its `config` part from the schema the webhook validates its config
 * with (src/config-schema.ts) through scripts/chart-schema.ts; the committed file must be what the script makes now.
 */
import { Ajv } from 'ajv'
import t from 'tap'
import { configSchema } from '../../src/config-schema.js'
import { CHART_OWNED_KEYS, chartConfigSchema, committedAndGenerated, valuesSchemaWithConfig } from '../../scripts/chart-schema.js'

t.test('the committed values.schema.json is the generated one (run `tsx scripts/chart-schema.ts` when this fails)', async (t) => {
  const { committed, generated } = await committedAndGenerated()
  t.equal(committed, generated)
})

t.test('a change to the webhook\'s config schema shows as drift', async (t) => {
  const changed = structuredClone(configSchema) as unknown as { properties: { logLevel: { enum: string[] } } }
  changed.properties.logLevel.enum = [...changed.properties.logLevel.enum, 'verbose']
  const { committed } = await committedAndGenerated()
  const regenerated = valuesSchemaWithConfig(JSON.parse(committed) as Record<string, unknown>, chartConfigSchema(changed as unknown as Record<string, unknown>))
  t.not(JSON.stringify(regenerated, null, 2) + '\n', committed)
})

t.test('the config schema keeps the webhook\'s rules, minus the keys the chart owns', async (t) => {
  const ajv = new Ajv({ strict: false, allErrors: true })
  const validate = ajv.compile(chartConfigSchema())
  t.ok(validate({ credentials: { secrets: [{ name: 'registry-credentials' }] }, registries: [{ host: 'registry.internal:5000', insecure: true }] }),
    'a pull Secret without a namespace (the webhook fills in its own)')
  t.notOk(validate({ registries: [{ hoost: 'x' }] }), 'an unknown key')
  t.notOk(validate({ resolver: { maxAttempts: 11 } }), 'a value out of bounds')
  for (const [section, keys] of Object.entries(CHART_OWNED_KEYS)) {
    for (const key of keys) t.notOk(validate({ [section]: { [key]: 'x' } }), `${section}.${key} is the chart's`)
  }
})

t.test('scripts/chart-schema.ts refuses a chart-owned key the webhook no longer has', async (t) => {
  const renamed = structuredClone(configSchema) as unknown as { properties: { server: { properties: Record<string, unknown> } } }
  delete renamed.properties.server.properties['tlsCert']
  t.throws(() => chartConfigSchema(renamed as unknown as Record<string, unknown>), /server\.tlsCert/)
})
