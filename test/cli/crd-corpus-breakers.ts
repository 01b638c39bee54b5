import type { Json, RuleBreakers } from './crd-corpus.js'

/**
 * How to break each CEL rule of the ActorTemplate CRD (test/fixtures/crd/actortemplates-rules.ate.dev.yaml), keyed by
 * the rule's text. A rule added to the CRD without an entry here shows up as uncovered and fails the corpus test.
 * Images are broken with an unrendered `ko://` reference: a plain tag would be pinned by the webhook before the rule
 * runs (and one on a public registry would need the network).
 */

type Obj = Record<string, Json>
const object = (value: Json): Obj => (value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {})
const list = (value: Json | undefined): Json[] => (Array.isArray(value) ? value : [])
const durable = (name: string): Obj => ({ name, durableDir: {} })
const without = (value: Obj, key: string): Obj => Object.fromEntries(Object.entries(value).filter(([name]) => name !== key))
const constant = (value: Json) => (): Json => value

const dns1123Label = '!format.dns1123Label().validate(self).hasValue()'
const dns1123Subdomain = '!format.dns1123Subdomain().validate(self).hasValue()'

export const ruleBreakers: RuleBreakers = {
  '!has(self.volumes) || self.volumes.filter(v, has(v.durableDir)).size() <= 1': [
    (spec) => ({ ...object(spec), volumes: [durable('data'), durable('cache')] })
  ],
  '!has(self.containers) || self.containers.all(c, !has(c.volumeMounts) || c.volumeMounts.filter(vm, has(self.volumes) && self.volumes.exists(v, v.name == vm.name && has(v.durableDir))).size() <= 1)': [
    (spec) => ({
      ...object(spec),
      volumes: [durable('data'), durable('cache')],
      containers: list(object(spec)['containers']).map((container, index) => index > 0
        ? container
        : { ...object(container), volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'cache', mountPath: '/cache' }] })
    })
  ],
  "!has(self.sandboxClass) || self.sandboxClass != 'microvm' || !has(self.volumes) || !self.volumes.exists(v, has(v.durableDir))": [
    (spec) => ({ ...object(spec), sandboxClass: 'microvm', volumes: [durable('data')] })
  ],
  "self.contains('@')": [constant('ko://github.com/acme/agent')],
  [dns1123Label]: [constant('Agent_1'), constant('trailing-'), constant('')],
  [dns1123Subdomain]: [constant('Agent.Secret'), constant('a..b')],
  '[has(self.value),has(self.valueFrom)].filter(x,x==true).size() == 1': [
    (env) => ({ ...object(env), value: 'literal', valueFrom: { secretKeyRef: { name: 'agent-secret', key: 'api-key' } } }),
    (env) => ({ name: object(env)['name'] ?? 'NAME' })
  ],
  "self.startsWith('/') && size(self) > 1 && !self.endsWith('/') && !self.contains('//') && !self.contains(':') && !self.matches('[\\x00-\\x1f\\x7f]') && !self.matches('(^|/)[.][.]?(/|$)')": [
    '/a/../b', '/', 'relative/path', '/a/', '/a//b', '/a:b', '/a/\u0007b', '/a\u007fb', '/./a', '/a/.', '/..'
  ].map(constant),
  "(has(self.onPause) ? self.onPause : 'Full') == 'Full' || (has(self.onCommit) ? self.onCommit : 'Full') == (has(self.onPause) ? self.onPause : 'Full')": [
    (config) => ({ ...object(config), onPause: 'Data', onCommit: 'Full' }),
    // onCommit left out defaults to Full, which is not a subset of Data
    (config) => ({ ...without(object(config), 'onCommit'), onPause: 'Data' })
  ],
  '[has(self.durableDir)].filter(x,x==true).size() == 1': [
    (volume) => ({ name: object(volume)['name'] ?? 'data' })
  ]
}
