# streamserve: the TypeScript sources run through tsx, the example model in weights/, the wasm backend.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY patches ./patches
# Dependencies' install scripts stay off; the kafkajs patch (README, "kafkajs, patched") is applied explicitly.
RUN npm ci --omit=dev --ignore-scripts && npx patch-package --error-on-fail && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY schemas ./schemas
COPY weights ./weights
COPY tsconfig.json ./
# The admin server must be reachable from outside the container.
ENV ADMIN_HOST=0.0.0.0 ADMIN_PORT=9464 LOG_FORMAT=json
EXPOSE 9464
USER node
# bin/streamserve.js runs as a program so its shebang sets the V8 flags streamserve ships with.
ENTRYPOINT ["bin/streamserve.js"]
CMD ["run"]
