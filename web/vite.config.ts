import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The build goes into the Python package, which ships it in the wheel (see the Makefile's `web` target).
export default defineConfig({
  plugins: [react()],
  build: { outDir: "../frontdoors/dashboard/static/app", emptyOutDir: true, assetsInlineLimit: 0 },
  server: { proxy: { "/v1": "http://127.0.0.1:8000", "/login": "http://127.0.0.1:8000", "/logout": "http://127.0.0.1:8000" } },
  test: { environment: "jsdom", globals: false, setupFiles: ["src/test/setup.ts"] },
});
