FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY workers ./workers
COPY templates ./templates
COPY public ./public
COPY tsconfig.json ./
ENV NODE_ENV=production
USER node
EXPOSE 3000
CMD ["npx", "tsx", "src/main.ts", "--api"]
