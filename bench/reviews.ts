import { randomUUID } from 'node:crypto'

/**
 * AdmissionReview bodies as the apiserver sends them on `kubectl create`: an ActorTemplate for us, and a Pod with the
 * same five images for google/k8s-digester, which only handles pod specs. The uid is fixed per body: the bench
 * sends the same bytes again and again, as the floor server's fixed answer requires.
 */

const userInfo = { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] }
const createOptions = { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-create', fieldValidation: 'Strict' }

function envelope (kind: { group: string, version: string, kind: string }, resource: string, object: Record<string, unknown>): Record<string, unknown> {
  const gvr = { group: kind.group, version: kind.version, resource }
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: randomUUID(),
      kind,
      resource: gvr,
      requestKind: kind,
      requestResource: gvr,
      name: 'agent',
      namespace: 'team-a',
      operation: 'CREATE',
      userInfo,
      object,
      oldObject: null,
      dryRun: false,
      options: createOptions
    }
  }
}

const containerNames = ['agent', 'sidecar', 'proxy', 'tools']

/** images[0] is the pauseImage, the other four are containers */
export function templateReview (images: readonly string[]): string {
  const [pauseImage, ...containers] = images
  const object = {
    apiVersion: 'ate.dev/v1alpha1',
    kind: 'ActorTemplate',
    metadata: { name: 'agent', namespace: 'team-a' },
    spec: {
      pauseImage,
      containers: containers.map((image, index) => ({
        name: containerNames[index] ?? `c${index}`,
        image,
        command: ['/app/server'],
        env: [{ name: 'LOG_LEVEL', value: 'info' }],
        readyz: { httpGet: { path: '/readyz', port: 80 } },
        volumeMounts: [{ name: 'data', mountPath: '/data' }]
      })),
      snapshotsConfig: { location: 'gs://acme-snapshots/team-a/' },
      sandboxClass: 'gvisor',
      volumes: [{ name: 'data', durableDir: {} }]
    }
  }
  return JSON.stringify(envelope({ group: 'ate.dev', version: 'v1alpha1', kind: 'ActorTemplate' }, 'actortemplates', object))
}

export function podReview (images: readonly string[]): string {
  const object = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'agent', namespace: 'team-a' },
    spec: {
      containers: images.map((image, index) => ({
        name: ['pause', ...containerNames][index] ?? `c${index}`,
        image,
        command: ['/app/server'],
        env: [{ name: 'LOG_LEVEL', value: 'info' }]
      }))
    }
  }
  return JSON.stringify(envelope({ group: '', version: 'v1', kind: 'Pod' }, 'pods', object))
}

interface ReviewAnswer { response?: { uid?: string, allowed?: boolean, patchType?: string, patch?: string, status?: { message?: string } } }

/** The patch of a successful mutation, decoded; throws with the server's message otherwise. */
export function patchOf (body: string): Array<{ op: string, path: string, value?: unknown }> {
  const answer = JSON.parse(body) as ReviewAnswer
  const response = answer.response
  if (response?.allowed !== true || response.patch === undefined) {
    throw new Error(`not a patched admission: ${response?.status?.message ?? body.slice(0, 300)}`)
  }
  return JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Array<{ op: string, path: string, value?: unknown }>
}

/** Every image the patch writes carries a digest: the lookups really happened and all succeeded. */
export function pinnedImagesOf (body: string): string[] {
  return patchOf(body)
    .filter((operation) => /\/(image|pauseImage)$/.test(operation.path))
    .map((operation) => String(operation.value))
    .filter((value) => value.includes('@sha256:'))
}
