// Builds the console into dist/, served by the gateway at /console/ (docs/console.md).
// Swagger UI's files are copied next to it so /docs needs no CDN.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import vue from "@vitejs/plugin-vue";
import { defineConfig, type Plugin } from "vite";

const SWAGGER_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"];

function swaggerUi(): Plugin {
  return {
    name: "copy-swagger-ui",
    apply: "build",
    writeBundle(options) {
      const source = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
      const target = join(options.dir ?? "dist", "swagger");
      mkdirSync(target, { recursive: true });
      for (const file of SWAGGER_FILES) copyFileSync(join(source, file), join(target, file));
    },
  };
}

export default defineConfig({
  base: "/console/",
  plugins: [vue(), swaggerUi()],
  build: {
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (id.includes("node_modules/echarts") || id.includes("node_modules/zrender")) return "echarts";
          if (id.includes("node_modules")) return "vendor";
          return undefined;
        },
      },
    },
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
});
