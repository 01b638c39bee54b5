import t from 'tap'
import { parseChallenges } from '../../src/registry/challenge.js'

const cases: Array<{ name: string, input: string | string[], expected: ReturnType<typeof parseChallenges> }> = [
  {
    name: 'distribution bearer challenge',
    input: 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:samalba/my-app:pull,push"',
    expected: [{ scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:samalba/my-app:pull,push' } }]
  },
  {
    name: 'case-insensitive scheme and parameter names',
    input: 'BEARER Realm="https://a/token", SERVICE=reg',
    expected: [{ scheme: 'bearer', params: { realm: 'https://a/token', service: 'reg' } }]
  },
  {
    name: 'quoted value with commas and escapes',
    input: 'Bearer realm="https://a/t?x=1,2",error="say \\"hi\\", please"',
    expected: [{ scheme: 'bearer', params: { realm: 'https://a/t?x=1,2', error: 'say "hi", please' } }]
  },
  {
    name: 'several challenges in one header',
    input: 'Basic realm="Registry Realm", Bearer realm="https://a/token",service="x"',
    expected: [{ scheme: 'basic', params: { realm: 'Registry Realm' } }, { scheme: 'bearer', params: { realm: 'https://a/token', service: 'x' } }]
  },
  {
    name: 'several WWW-Authenticate headers',
    input: ['Basic realm="r"', 'Bearer realm="https://a/token"'],
    expected: [{ scheme: 'basic', params: { realm: 'r' } }, { scheme: 'bearer', params: { realm: 'https://a/token' } }]
  },
  { name: 'scheme without parameters', input: 'Negotiate', expected: [{ scheme: 'negotiate', params: {} }] },
  { name: 'empty header', input: '', expected: [] },
  { name: 'garbage never loops', input: '=,=,"', expected: [] },
  { name: 'unterminated quote keeps what it has', input: 'Bearer realm="https://a', expected: [{ scheme: 'bearer', params: { realm: 'https://a' } }] }
]

for (const { name, input, expected } of cases) {
  t.same(parseChallenges(input), expected, name)
}
t.same(parseChallenges(undefined), [], 'no header')
