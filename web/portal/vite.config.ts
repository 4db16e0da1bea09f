// Builds the public portal into dist/, served by the gateway at / (docs/portal.md). Its files go
// under dist/static/ so they cannot shadow an API or console path; the Chinese words for the API's
// codes are the console's (web/console/src/labels), shared rather than copied.
import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  plugins: [vue()],
  resolve: { alias: { "@labels": fileURLToPath(new URL("../console/src/labels", import.meta.url)) } },
  build: { assetsDir: "static", chunkSizeWarningLimit: 1500 },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
});
