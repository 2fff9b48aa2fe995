# The control plane for docker-compose.yml. The shadow instances use images Umbra builds offline itself
# (`umbra image build`); this one is for running Umbra where a registry is reachable.
FROM node:24-slim
WORKDIR /umbra
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts=false
COPY domain domain
COPY src src
COPY projections projections
COPY infra infra
COPY nats.conf ./
ENV UMBRA_DATA_DIR=/var/lib/umbra
ENTRYPOINT ["node", "infra/cli/main.ts"]
CMD ["serve"]
