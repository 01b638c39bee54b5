import t from 'tap'
import { parseReference } from '../../src/images/reference.js'
import { RecentMap } from '../../src/recent-map.js'

t.test('keeps at most its limit, forgetting the oldest insertion first', async (t) => {
  const map = new RecentMap<string, number>(3)
  for (const [key, value] of [['a', 1], ['b', 2], ['c', 3]] as const) map.set(key, value)
  map.set('a', 10)
  t.equal(map.size, 3, 'replacing a kept key forgets nothing')
  map.set('d', 4)
  t.equal(map.size, 3)
  t.equal(map.get('a'), undefined, 'the oldest insertion is forgotten')
  t.same(['b', 'c', 'd'].map((key) => map.get(key)), [2, 3, 4])
  const tiny = new RecentMap<string, number>(0)
  tiny.set('x', 1)
  tiny.set('y', 2)
  t.same([tiny.size, tiny.get('x'), tiny.get('y')], [1, undefined, 2], 'a limit below 1 still keeps the newest entry')
})

t.test('remembered parses are frozen and equal to fresh ones; invalid references still throw every time', async (t) => {
  const first = parseReference('registry.example:5000/team/app:1.4')
  t.equal(parseReference('registry.example:5000/team/app:1.4'), first, 'the same text gives the same answer')
  t.ok(Object.isFrozen(first), 'nobody can change a shared answer')
  t.same(first, { original: 'registry.example:5000/team/app:1.4', domain: 'registry.example:5000', path: 'team/app', tag: '1.4', digest: undefined })
  for (let round = 0; round < 2; round++) {
    let reason: unknown
    try {
      parseReference('Team/App')
    } catch (error) {
      reason = (error as { reason?: unknown }).reason
    }
    t.equal(reason, 'repository name must be lowercase', `invalid, attempt ${round + 1}`)
  }
  for (let index = 0; index < 1100; index++) parseReference(`r.example/app-${index}:1`)
  t.same(parseReference('registry.example:5000/team/app:1.4'), first, 'parsed again after being forgotten, with the same result')
})
