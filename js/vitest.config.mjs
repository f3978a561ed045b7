import { defineConfig } from "vitest/config";

export default defineConfig({
  // The same JSX transform as the build (esbuild --jsx=automatic).
  esbuild: { jsx: "automatic" },
  test: {
    include: ["test/**/*.test.{js,jsx}"],
    environment: "node",
    testTimeout: 10000,
  },
});
