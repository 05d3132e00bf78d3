# streamserve: the compiled CLI (dist/), the example model in weights/, the wasm backend.
FROM node:26-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY patches ./patches
# Dependencies' install scripts stay off; the kafkajs patch (README, "kafkajs, patched") is applied explicitly.
RUN npm ci --ignore-scripts && npx patch-package --error-on-fail
COPY src ./src
RUN npm run build

FROM node:26-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --ignore-scripts && npx patch-package --error-on-fail && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY schemas ./schemas
COPY weights ./weights
# The admin server must be reachable from outside the container.
ENV ADMIN_HOST=0.0.0.0 ADMIN_PORT=9464 LOG_FORMAT=json
EXPOSE 9464
USER node
# bin/streamserve.js runs as a program so its shebang sets the V8 flags streamserve ships with.
ENTRYPOINT ["bin/streamserve.js"]
CMD ["run"]
