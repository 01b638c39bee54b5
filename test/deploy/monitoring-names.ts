/**
 * Metric names for the monitoring tests (issue 14 §3): the names a PromQL expression reads, and the names a Prometheus
 * text exposition declares. promtool checks the expressions' syntax; this only has to find the metric names in them.
 */

// Words that PromQL reads as operators or modifiers rather than as metric names.
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2'])

/** Metric names a PromQL expression selects (Grafana variables such as $__rate_interval allowed). */
export function metricNamesIn (expr: string): string[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
  const names = new Set<string>()
  // An identifier not preceded by a digit or dot (1e3, 0.5) and not followed by "(" (a function).
  for (const match of text.matchAll(/(?<![\w.:])[A-Za-z_:][\w:]*(?!\w*\s*\()/g)) {
    if (!KEYWORDS.has(match[0].toLowerCase())) names.add(match[0])
  }
  return [...names].sort()
}

/** The metric a Grafana variable query `label_values(metric, label)` reads; undefined for other queries. */
export function metricOfLabelValues (query: string): string | undefined {
  return /^\s*label_values\(\s*([A-Za-z_:][\w:]*)/.exec(query)?.[1]
}

/**
 * Sample names a /metrics text exports: every `# TYPE` family (a histogram as its _bucket, _sum and _count series, a
 * summary as itself, _sum and _count) and every sample line. A labelled counter that never counted has no sample
 * line yet, but its family is exported and Prometheus shows it once it counts.
 */
export function exportedNames (exposition: string): Set<string> {
  const names = new Set<string>()
  for (const line of exposition.split('\n')) {
    const declared = /^# TYPE (\S+) (\w+)$/.exec(line)
    if (declared !== null) {
      const [, family = '', type] = declared
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix)
      else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(family + suffix)
      else names.add(family)
      continue
    }
    const sample = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line)
    if (sample?.[1] !== undefined) names.add(sample[1])
  }
  return names
}
