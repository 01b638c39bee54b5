# syntax=docker/dockerfile:1
# actortemplate-webhook: docker build -t actortemplate-webhook:0.1.0 --build-arg VERSION=0.1.0 .
# The runtime stage holds dist/, package.json and production dependencies only; test/deploy/production-install.test.ts
# reproduces that file set without Docker and serves an AdmissionReview from it.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: no production dependency needs one, and none should run with the image's contents.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG NODE_IMAGE
LABEL org.opencontainers.image.title="actortemplate-webhook" \
      org.opencontainers.image.description="Admission webhook that pins ActorTemplate image tags to digests and validates them" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/${NODE_IMAGE}"
ENV NODE_ENV=production
# V8 sizes its heap from the machine's memory, not from the pod's 256 Mi limit. Young generation: on a 24 GiB machine
# a busy webhook grew to ~240 MB, ~130 MB of it young generation. 16 MB semi-spaces peaked at 196-200 MB under 64
# concurrent warm admissions, 8 MB at 174-181 MB, 4 MB at 151-172 MB (a bare fastify server: 152-170 MB with V8's
# defaults, 97-103 MB with this line; with the ENTRYPOINT's flags too, ours peaks 19 MB above it) for ~10 % more
# CPU per warm admission; the hostile cases below drop by 10-29 MB with it (BENCHMARKS.md, "Young generation").
# Old generation: under the hostile loads of issue 13 (2,200 registry hosts,
# 1,650 60 KiB tokens) V8 let garbage pile up to a peak RSS of 285 / 269 MB, past the pod's limit; capped at 128 MB it
# collects sooner and the same loads peak at 140 / 160 MB, every case under 180 MB (30% headroom; issue 17 §3,
# BENCHMARKS.md). 128 old + 3 x 4 young + ~60 MB of code and buffers stays under 256 Mi.
# `npm run bench` runs our server and that bare fastify floor with exactly this line and the ENTRYPOINT's flags.
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128"
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The distroless "nonroot" UID; the manifests' securityContext runs as the same user.
USER 65532:65532
EXPOSE 8443
# V8 flags that NODE_OPTIONS refuses (issue 17 §3, BENCHMARKS.md "Warm peak"), each measured under 64 concurrent warm
# admissions in alternating runs, with no measurable CPU cost per admission:
# --no-maglev: V8's mid-tier compiler (between the baseline and TurboFan) cost 13-18 MB of the warm peak (113-115 vs
#   132-133 MB) and 19 MB after 3,000 cold lookups.
# --memory-saver-mode: V8 lets the old generation grow 2 MB past what survived its last full collection instead of
#   8 MB before collecting again; a server that keeps anything across young collections under load reaches that
#   limit every second or so. 105-110 vs 111-114 MB; a bare fastify server, which promotes almost nothing, is unchanged.
ENTRYPOINT ["node", "--no-maglev", "--memory-saver-mode", "dist/main.js", "serve"]
