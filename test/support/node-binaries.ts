/**
 * Paths of what the real-node cluster runs, from the scripts that build and cache them (tests never build things
 * themselves): scripts/build-cluster.sh (etcd, kube-apiserver, kubectl), scripts/build-node.sh (kubelet,
 * kube-controller-manager, kube-scheduler, kube-proxy) and scripts/build-pause-image.sh (the sandbox image).
 */
import { join } from 'node:path'
import { scriptOutput } from './build-script.js'
import { buildClusterBinaries } from './cluster.js'

export interface NodeBinaries {
  etcd: string
  kubeApiserver: string
  kubectl: string
  kubelet: string
  kubeControllerManager: string
  kubeScheduler: string
  kubeProxy: string
  /** OCI image layout of the pause image, tag PAUSE_TAG. */
  pauseLayout: string
}

export async function nodeBinaries (): Promise<NodeBinaries> {
  const [cluster, node, pauseLayout] = await Promise.all([
    buildClusterBinaries(),
    scriptOutput('build-node.sh'),
    scriptOutput('build-pause-image.sh')
  ])
  return {
    etcd: join(cluster, 'etcd'),
    kubeApiserver: join(cluster, 'kube-apiserver'),
    kubectl: join(cluster, 'kubectl'),
    kubelet: join(node, 'kubelet'),
    kubeControllerManager: join(node, 'kube-controller-manager'),
    kubeScheduler: join(node, 'kube-scheduler'),
    kubeProxy: join(node, 'kube-proxy'),
    pauseLayout
  }
}
