/**
 * The one JSON schema of the configuration: every key, its default and its bounds. Unknown keys are errors
 * (additionalProperties: false); the types it produces are declared in config.ts.
 */

const registrySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['host'],
  properties: {
    host: { type: 'string', pattern: '^[A-Za-z0-9.\\-\\[\\]:]+$', minLength: 1 },
    insecure: { type: 'boolean', default: false },
    caFile: { type: 'string', minLength: 1 },
    // a path is a proxy project (Harbor, Artifactory): https://harbor.corp.example/dockerhub-proxy
    mirror: { type: 'string', pattern: '^https?://[^/?#]+(/[^?#]*)?$' },
    allowLinkLocal: { type: 'boolean', default: false },
    allowedRealmHosts: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] }
  }
} as const

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', default: '0.0.0.0' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8443 },
        tlsCert: { type: 'string', minLength: 1, default: 'certs/tls.crt' },
        tlsKey: { type: 'string', minLength: 1, default: 'certs/tls.key' },
        bodyLimitBytes: { type: 'integer', minimum: 7340032, default: 7340032 },
        shutdownDelaySeconds: { type: 'number', minimum: 0, maximum: 120, default: 5 },
        requestTimeoutSeconds: { type: 'number', minimum: 1, maximum: 120, default: 30 },
        headersTimeoutSeconds: { type: 'number', minimum: 1, maximum: 60, default: 10 },
        keepAliveTimeoutSeconds: { type: 'number', minimum: 1, maximum: 600, default: 65 },
        certReloadIntervalSeconds: { type: 'number', minimum: 0.05, maximum: 3600, default: 10 },
        metricsHost: { type: 'string', default: '0.0.0.0' },
        metricsPort: { type: 'integer', minimum: 0, maximum: 65535, default: 9090 }
      }
    },
    admission: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxResolveSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 30, default: 8 },
        safetyMarginMs: { type: 'integer', minimum: 0, maximum: 10000, default: 1500 },
        annotationKey: { type: 'string', pattern: '^[a-z0-9.-]+/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$', default: 'ate.dev/pinned-images' },
        maxContainers: { type: 'integer', minimum: 1, maximum: 10000, default: 10 },
        maxImageReferences: { type: 'integer', minimum: 1, maximum: 10001, default: 11 }
      }
    },
    resolver: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        cacheTtlSeconds: { type: 'number', minimum: 0, maximum: 86400, default: 0 },
        burstWindowMs: { type: 'integer', minimum: 0, maximum: 10000, default: 1000 },
        staleIfErrorSeconds: { type: 'number', minimum: 0, maximum: 86400, default: 0 },
        maxAttempts: { type: 'integer', minimum: 1, maximum: 10, default: 3 },
        retryBaseDelayMs: { type: 'integer', minimum: 0, maximum: 10000, default: 200 },
        perRequestTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 30, default: 5 },
        manifestMethod: { enum: ['head', 'get'], default: 'head' },
        userAgent: { type: 'string', minLength: 1, default: 'actortemplate-webhook' },
        maxLookupsInFlight: { type: 'integer', minimum: 1, maximum: 1024, default: 32 },
        maxLookupsInFlightPerRegistry: { type: 'integer', minimum: 1, maximum: 256, default: 11 },
        maxRegistryHosts: { type: 'integer', minimum: 1, maximum: 100000, default: 256 },
        maxCachedDigests: { type: 'integer', minimum: 1, maximum: 1000000, default: 10000 },
        maxCachedTokens: { type: 'integer', minimum: 1, maximum: 100000, default: 1000 },
        maxCachedTokenBytes: { type: 'integer', minimum: 65536, maximum: 1073741824, default: 8388608 }
      }
    },
    registries: { type: 'array', items: registrySchema, default: [] },
    credentials: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        dockerConfigFiles: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
        secrets: {
          type: 'array',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['namespace', 'name'],
            properties: { namespace: { type: 'string', minLength: 1 }, name: { type: 'string', minLength: 1 } }
          }
        },
        providers: {
          type: 'array',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['provider', 'hosts'],
            properties: {
              provider: { type: 'string', pattern: '^(google|helper:[A-Za-z0-9][A-Za-z0-9._-]*)$' },
              hosts: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Za-z0-9.*:\\-]+$' } }
            }
          }
        },
        google: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            metadataTokenUrl: { type: 'string', pattern: '^https?://', default: 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token' },
            serviceAccount: { type: 'string', minLength: 1, default: 'actortemplate-webhook/actortemplate-webhook' },
            timeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 30, default: 3 }
          }
        },
        helpers: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            timeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 60, default: 5 },
            cacheSeconds: { type: 'number', minimum: 0, maximum: 86400, default: 300 },
            paths: { type: 'object', additionalProperties: { type: 'string', minLength: 1 }, default: {} }
          }
        }
      }
    },
    certificates: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        mode: { enum: ['files', 'self-managed'], default: 'files' },
        namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
        serviceName: { type: 'string', pattern: '^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$', default: 'actortemplate-webhook' },
        secretName: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$', default: 'actortemplate-webhook-certs' },
        mutatingWebhookConfiguration: { type: 'string', minLength: 1, default: 'pin.actortemplates.ate.dev' },
        // '' = the install has no ValidatingWebhookConfiguration (manifests/ default: the policy validates, issue 16 §2).
        validatingWebhookConfiguration: { type: 'string', default: 'validate.actortemplates.ate.dev' },
        caValidityDays: { type: 'number', minimum: 1, maximum: 36500, default: 1825 },
        caRenewBeforeDays: { type: 'number', exclusiveMinimum: 0, default: 365 },
        leafValidityDays: { type: 'number', minimum: 1, maximum: 3650, default: 90 },
        leafRenewBeforeDays: { type: 'number', exclusiveMinimum: 0, default: 30 },
        caBundleSettleSeconds: { type: 'number', minimum: 0, maximum: 86400, default: 60 },
        checkIntervalSeconds: { type: 'number', minimum: 1, maximum: 86400, default: 300 }
      }
    },
    kube: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        requestTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 120, default: 10 },
        pullSecretRefreshSeconds: { type: 'number', minimum: 1, maximum: 86400, default: 30 }
      }
    },
    // issue 18: the optional in-cluster report; 0 = off, at most one scan a week.
    drift: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        intervalMinutes: { type: 'number', minimum: 0, maximum: 10080, default: 0 },
        lookupTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 300, default: 60 }
      }
    },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' }
  }
} as const
