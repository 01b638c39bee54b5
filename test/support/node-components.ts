/**
 * Command lines of the real-node cluster's daemons, as pure functions. All of them run inside the cluster's network
 * namespace, so their fixed ports (2379, 6443, 10250, ...) can never collide with the machine's or another cluster's.
 */
import { join } from 'node:path'
import type { NodeBinaries } from './node-binaries.js'
import { NODE_NETWORK, paths, registryHost, type NodeLayout } from './node-configs.js'
import type { NodeCredentials } from './node-credentials.js'

export const ETCD_URL = 'http://127.0.0.1:2379'
export const API_SERVER = `https://${NODE_NETWORK.nodeIp}:${NODE_NETWORK.apiPort}`

export type Component = 'etcd' | 'registry' | 'containerd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet' | 'kube-proxy'

export function commandFor (component: Component, bin: NodeBinaries, layout: NodeLayout, creds: NodeCredentials): string[] {
  const p = paths(layout)
  const dir = layout.dir
  switch (component) {
    case 'etcd':
      return [bin.etcd, '--name=default', `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=${ETCD_URL}`, `--advertise-client-urls=${ETCD_URL}`,
        '--listen-peer-urls=http://127.0.0.1:2380', '--initial-advertise-peer-urls=http://127.0.0.1:2380',
        '--initial-cluster=default=http://127.0.0.1:2380', '--initial-cluster-state=new',
        '--unsafe-no-fsync', '--log-level=warn']
    case 'registry':
      return ['/usr/bin/docker-registry', 'serve', p.registryConfig]
    case 'containerd':
      return ['containerd', '--config', p.containerdConfig]
    case 'kube-apiserver':
      return [bin.kubeApiserver, `--etcd-servers=${ETCD_URL}`, `--cert-dir=${join(dir, 'apiserver-certs')}`,
        `--secure-port=${NODE_NETWORK.apiPort}`, '--bind-address=0.0.0.0', `--advertise-address=${NODE_NETWORK.nodeIp}`,
        `--service-cluster-ip-range=${NODE_NETWORK.serviceCidr}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${creds.saPub}`, `--service-account-signing-key-file=${creds.saKey}`,
        '--authorization-mode=RBAC', `--token-auth-file=${creds.tokenFile}`,
        // Else `kubectl logs/exec` look the node name up in DNS (real-node.md).
        '--kubelet-preferred-address-types=InternalIP',
        `--kubelet-client-certificate=${creds.kubeletClientCert}`, `--kubelet-client-key=${creds.kubeletClientKey}`,
        // Webhook calls go to the Service's endpoints directly, as on clusters whose apiserver has no kube-proxy.
        '--enable-aggregator-routing=true']
    case 'kube-controller-manager':
      return [bin.kubeControllerManager, `--kubeconfig=${p.kubeconfig}`, '--leader-elect=false',
        '--bind-address=127.0.0.1', `--service-account-private-key-file=${creds.saKey}`,
        // Published as ConfigMap kube-root-ca.crt in every namespace: the CA pods use to trust the apiserver.
        `--root-ca-file=${join(dir, 'apiserver-ca.crt')}`,
        `--service-cluster-ip-range=${NODE_NETWORK.serviceCidr}`,
        // Default /usr/libexec/kubernetes/kubelet-plugins/volume/exec, which it would create on the machine.
        `--flex-volume-plugin-dir=${p.volumePlugins}`]
    case 'kube-scheduler':
      return [bin.kubeScheduler, `--kubeconfig=${p.kubeconfig}`, '--leader-elect=false', '--bind-address=127.0.0.1']
    case 'kubelet':
      return [bin.kubelet, `--config=${p.kubeletConfig}`, `--kubeconfig=${p.kubeconfig}`,
        `--root-dir=${p.kubeletRoot}`, `--cert-dir=${p.kubeletCerts}`,
        `--hostname-override=${NODE_NETWORK.nodeName}`, `--node-ip=${NODE_NETWORK.nodeIp}`]
    case 'kube-proxy':
      return [bin.kubeProxy, `--kubeconfig=${p.kubeconfig}`, '--proxy-mode=iptables',
        `--hostname-override=${NODE_NETWORK.nodeName}`, `--cluster-cidr=${NODE_NETWORK.podCidr}`,
        // 0: leave the machine-wide conntrack table size and timeouts alone (real-node.md).
        '--conntrack-max-per-core=0', '--conntrack-tcp-timeout-established=0s', '--conntrack-tcp-timeout-close-wait=0s',
        '--metrics-bind-address=127.0.0.1:10249', '--healthz-bind-address=127.0.0.1:10256']
  }
}

/** `skopeo copy` of an OCI layout into the in-namespace registry, which speaks plain HTTP. */
export function skopeoPushCommand (layoutDir: string, ref: string, repo: string, tag: string): string[] {
  return ['skopeo', 'copy', '--all', '--preserve-digests', '--dest-tls-verify=false', '--retry-times=3',
    `oci:${layoutDir}:${ref}`, `docker://${registryHost}/${repo}:${tag}`]
}
