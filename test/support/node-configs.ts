/**
 * The configuration files of the real-node cluster (test/support/node-cluster.ts), as pure functions of its
 * layout: containerd, its registry hosts, the CNI network, the kubelet, kubeconfigs and the registry. Each
 * setting that is not a default is here because ../shared/docs/real-node.md measured that it is needed.
 */
import { join } from 'node:path'

/** Addresses inside the cluster's network namespace; nothing outside it can see them. */
export const NODE_NETWORK = {
  nodeIp: '10.210.0.1',
  nodeCidr: '10.210.0.1/24',
  podCidr: '10.244.0.0/24',
  serviceCidr: '10.96.0.0/24',
  apiPort: 6443,
  registryPort: 5000,
  nodeName: 'atw-node'
} as const

export const PAUSE_TAG = '3.10'

/** Where every file and directory of one cluster lives, under its temp dir. */
export interface NodeLayout {
  dir: string
  cgroupRoot: string
  /** Name of the CNI network; unique per cluster because libcni caches results by it in /var/lib/cni. */
  cniNetwork: string
}

export function paths (layout: NodeLayout): Record<'containerdConfig' | 'containerdRoot' | 'containerdState' | 'containerdSocket' | 'certsD' | 'cniConf' | 'cniIpam' | 'kubeletConfig' | 'kubeletRoot' | 'kubeletCerts' | 'podLogs' | 'resolvConf' | 'volumePlugins' | 'kubeconfig' | 'registryConfig' | 'registryStorage' | 'pki', string> {
  const d = layout.dir
  return {
    containerdConfig: join(d, 'containerd', 'config.toml'),
    containerdRoot: join(d, 'containerd', 'root'),
    containerdState: join(d, 'containerd', 'state'),
    containerdSocket: join(d, 'containerd', 'containerd.sock'),
    certsD: join(d, 'containerd', 'certs.d'),
    cniConf: join(d, 'cni', 'net.d'),
    cniIpam: join(d, 'cni', 'ipam'),
    kubeletConfig: join(d, 'kubelet', 'config.yaml'),
    kubeletRoot: join(d, 'kubelet', 'root'),
    kubeletCerts: join(d, 'kubelet', 'pki'),
    podLogs: join(d, 'pod-logs'),
    resolvConf: join(d, 'kubelet', 'resolv.conf'),
    volumePlugins: join(d, 'kubelet', 'volume-plugins'),
    kubeconfig: join(d, 'kubeconfig'),
    registryConfig: join(d, 'registry', 'config.yml'),
    registryStorage: join(d, 'registry', 'storage'),
    pki: join(d, 'pki')
  }
}

export const registryHost = `${NODE_NETWORK.nodeIp}:${NODE_NETWORK.registryPort}`
export const pauseImage = `${registryHost}/pause:${PAUSE_TAG}`

/** containerd 1.6, config version 2: everything under the cluster's dir, so several clusters never share state. */
export function containerdConfig (layout: NodeLayout): string {
  const p = paths(layout)
  const cri = 'plugins."io.containerd.grpc.v1.cri"'
  return [
    'version = 2',
    `root = ${JSON.stringify(p.containerdRoot)}`,
    `state = ${JSON.stringify(p.containerdState)}`,
    // Snapshotters and helpers this cluster does not use; "opt" would otherwise write /opt/containerd.
    'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]',
    '[grpc]',
    `  address = ${JSON.stringify(p.containerdSocket)}`,
    `[${cri}]`,
    `  sandbox_image = ${JSON.stringify(pauseImage)}`,
    // Root here lacks CAP_SYS_RESOURCE: the kubelet's oom_score_adj -998 for sandboxes would fail every sandbox with
    // "can't get final child's PID from pipe: EOF" (real-node.md). Restricting clamps it to what we may set.
    '  restrict_oom_score_adj = true',
    // Pod network namespaces under our state dir, not /var/run/netns, so teardown finds exactly ours.
    '  netns_mounts_under_state_dir = true',
    '  enable_selinux = false',
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    '  BinaryName = "runc"',
    // runc keeps container state in /run/containerd/runc by default; killed containers would leave it there.
    `  Root = ${JSON.stringify(join(layout.dir, 'containerd', 'runc'))}`,
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = ${JSON.stringify(p.cniConf)}`,
    `[${cri}.registry]`,
    `  config_path = ${JSON.stringify(p.certsD)}`,
    ''
  ].join('\n')
}

/** certs.d/<host>/hosts.toml: the in-namespace registry speaks plain HTTP. */
export function registryHostsToml (): string {
  return [
    `server = "http://${registryHost}"`,
    `[host."http://${registryHost}"]`,
    '  capabilities = ["pull", "resolve"]',
    '  skip_verify = true',
    ''
  ].join('\n')
}

/** bridge + host-local + portmap; the bridge lives in the cluster's namespace and goes with it. */
export function cniConflist (layout: NodeLayout): string {
  return `${JSON.stringify({
    cniVersion: '0.4.0',
    name: layout.cniNetwork,
    plugins: [
      {
        type: 'bridge',
        bridge: 'atwbr0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: NODE_NETWORK.podCidr }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: paths(layout).cniIpam
        }
      },
      { type: 'portmap', capabilities: { portMappings: true } }
    ]
  }, null, 2)}\n`
}

/** KubeletConfiguration v1beta1 with the settings real-node.md found necessary on this machine kind. */
export function kubeletConfig (layout: NodeLayout): string {
  const p = paths(layout)
  return `${JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // 1.37 refuses cgroup v1 otherwise ("kubelet is configured to not run on a host using cgroup v1").
    failCgroupV1: false,
    failSwapOn: false,
    cgroupDriver: 'cgroupfs',
    // Our own cgroup subtree: teardown kills exactly the processes of this cluster's pods.
    cgroupRoot: layout.cgroupRoot,
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    address: NODE_NETWORK.nodeIp,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    authentication: {
      anonymous: { enabled: false },
      x509: { clientCAFile: join(p.pki, 'ca.crt') },
      webhook: { enabled: true }
    },
    authorization: { mode: 'Webhook' },
    // No cluster DNS and no host resolvers: an empty file keeps pods from inheriting the machine's.
    resolvConf: p.resolvConf,
    podLogsDir: p.podLogs,
    volumePluginDir: p.volumePlugins,
    // The machine's disk is shared with other work; only evict when it is really full.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    serializeImagePulls: false
  }, null, 2)}\n`
}

export interface KubeconfigOptions {
  server: string
  token: string
}

/** Bearer token of a system:masters user; the apiserver's self-signed certificate is not verified. */
export function kubeconfig (opts: KubeconfigOptions): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: node-e2e',
    '  cluster:',
    `    server: ${opts.server}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${opts.token}`,
    'contexts:',
    '- name: node-e2e',
    '  context:',
    '    cluster: node-e2e',
    '    user: admin',
    'current-context: node-e2e',
    ''
  ].join('\n')
}

/** CNCF distribution (Debian docker-registry), anonymous and plain HTTP on the node address. */
export function registryConfig (layout: NodeLayout): string {
  return `${JSON.stringify({
    version: 0.1,
    log: { level: 'warn', formatter: 'text' },
    storage: { filesystem: { rootdirectory: paths(layout).registryStorage }, delete: { enabled: true } },
    http: { addr: registryHost }
  }, null, 2)}\n`
}
