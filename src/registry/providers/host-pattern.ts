/** `*` stands for part of one DNS label, so "*.gcr.io" matches "eu.gcr.io" but not "a.b.gcr.io" or "gcr.io". */
export function matchesHostPattern (pattern: string, host: string): boolean {
  const escaped = pattern.toLowerCase().split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${escaped.join('[^.]+')}$`).test(host.toLowerCase())
}
