/**
 * @peculiar/x509 loads tsyringe, which refuses to start without the Reflect metadata API (normally the
 * reflect-metadata package). tsyringe only calls these three, so a tiny stand-in saves a dependency.
 * Imported for its side effect, before @peculiar/x509 (see x509.ts).
 */
const reflect = Reflect as unknown as Record<string, unknown>
if (typeof reflect['getMetadata'] !== 'function') {
  const store = new WeakMap<object, Map<unknown, unknown>>()
  const getOwnMetadata = (key: unknown, target: object): unknown => store.get(target)?.get(key)
  const getMetadata = (key: unknown, target: object): unknown => {
    for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
      const map = store.get(o)
      if (map?.has(key) === true) return map.get(key)
    }
    return undefined
  }
  const defineMetadata = (key: unknown, value: unknown, target: object): void => {
    let map = store.get(target)
    if (map === undefined) store.set(target, map = new Map())
    map.set(key, value)
  }
  Object.assign(Reflect, { getOwnMetadata, getMetadata, defineMetadata })
}
