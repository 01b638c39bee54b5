import { Registry } from 'prom-client'
import t from 'tap'
import { driftGauges } from '../../src/outdated/drift-metrics.js'

// issue 18, optional in-cluster report: what Prometheus scrapes after each scan.

async function series (registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line.startsWith('atw_'))
}

t.test('one series per image; deleted templates disappear; a failed lookup keeps the last value', async (t) => {
  const registry = new Registry()
  const gauges = driftGauges(registry)
  gauges.publish({
    images: [
      { namespace: 'team-a', name: 'agent', field: 'spec.pauseImage', outdated: false },
      { namespace: 'team-a', name: 'agent', field: 'spec.containers[0].image', outdated: true },
      { namespace: 'team-b', name: 'gone', field: 'spec.pauseImage', outdated: true }
    ],
    unknown: [],
    templates: 2,
    scannedAtMs: 1_700_000_000_000
  })
  t.same(await series(registry), [
    'atw_template_image_outdated{namespace="team-a",name="agent",field="spec.pauseImage"} 0',
    'atw_template_image_outdated{namespace="team-a",name="agent",field="spec.containers[0].image"} 1',
    'atw_template_image_outdated{namespace="team-b",name="gone",field="spec.pauseImage"} 1',
    'atw_drift_last_scan_timestamp_seconds 1700000000',
    'atw_drift_images_unknown 0'
  ])
  gauges.publish({
    images: [{ namespace: 'team-a', name: 'agent', field: 'spec.pauseImage', outdated: false }],
    unknown: [{ namespace: 'team-a', name: 'agent', field: 'spec.containers[0].image' }, { namespace: 'team-c', name: 'new', field: 'spec.pauseImage' }],
    templates: 2,
    scannedAtMs: 1_700_000_600_000
  })
  t.same(await series(registry), [
    'atw_template_image_outdated{namespace="team-a",name="agent",field="spec.pauseImage"} 0',
    'atw_template_image_outdated{namespace="team-a",name="agent",field="spec.containers[0].image"} 1',
    'atw_drift_last_scan_timestamp_seconds 1700000600',
    'atw_drift_images_unknown 2'
  ], 'team-b/gone was deleted; the failed lookup kept 1; an image never known has no series yet')
})
