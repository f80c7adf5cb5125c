# fluxperf as a container image: `fluxperf` on PATH, run as the non-root `node` user (uid 1000).
#
#   docker build -t fluxperf:latest .
#   docker run --rm fluxperf:latest traffic --mock-server --rate 5 --duration 5 --no-progress --output-dir /tmp/out
#
# Used by deploy/kubernetes/ (an Indexed Job of shards, then `fluxperf merge`).

# Build stage: the package exactly as `npm pack` ships it (bin/, dist/src, dist/viewer, datasets/, examples/).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# `npm run build` compiles src/ to dist/src and bundles the HTML report viewer into dist/viewer/report.html;
# --ignore-scripts skips `prepack`, which would only run the same build again.
RUN npm run build && npm pack --ignore-scripts && mv fluxperf-*.tgz /tmp/fluxperf.tgz

# Runtime stage: Node and the installed package with its production dependencies only.
FROM node:24-slim
ENV NODE_ENV=production
COPY --from=build /tmp/fluxperf.tgz /tmp/fluxperf.tgz
RUN npm install --global --omit=dev --no-audit --no-fund /tmp/fluxperf.tgz \
 && rm /tmp/fluxperf.tgz \
 && npm cache clean --force \
 && mkdir -p /work \
 && chown node:node /work \
 && fluxperf --version
USER node
WORKDIR /work
ENTRYPOINT ["fluxperf"]
CMD ["--help"]
