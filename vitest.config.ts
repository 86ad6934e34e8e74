import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources of sibling packages, not their builds.
    alias: [
      { find: /^@forge\/([a-z-]+)$/, replacement: `${root}packages/$1/src/mod.ts` },
      { find: /^@forge\/([a-z-]+)\/([a-z_]+)$/, replacement: `${root}packages/$1/src/$2.ts` },
    ],
  },
  test: {
    include: ["packages/*/src/**/*_test.ts", "bench/**/*_test.ts"],
    pool: "forks",
    // fast-check's seed and time budget for the *_fuzz_test.ts targets.
    setupFiles: ["test/fuzz_setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
