import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";

// Debian's Chromium; Playwright must never download a browser on these machines.
const chromium = process.env.CHROMIUM_PATH ?? (fs.existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined);

export const DASHBOARD = "http://127.0.0.1:3300";
export const CLUSTER = "http://127.0.0.1:16480";
/** The presenter's token for the test server (the real one is generated at each start). */
export const PRESENTER_TOKEN = "e2e-presenter-token-0123456789";

export default defineConfig({
  testDir: "./tests",
  timeout: 120_000,
  expect: { timeout: 30_000 },
  // One dashboard and one practice cluster for the whole run: tests share them and run in order.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: DASHBOARD,
    viewport: { width: 1280, height: 720 },
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    },
  },
  webServer: {
    // The release build made by `cargo leptos build --release` (STSLAB_BIN overrides), run from the workspace root.
    command:
      (process.env.STSLAB_BIN ?? "./target/release/stslab") + " --listen 127.0.0.1:3300 --practice-listen 127.0.0.1:16480 " +
      "--practice-kubeconfig target/e2e.kubeconfig --state-dir target/e2e-state --fresh --visits-every 0.5 " +
      `--presenter-token ${PRESENTER_TOKEN}`,
    cwd: "..",
    url: `${DASHBOARD}/api/snapshot`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    env: { LEPTOS_SITE_ROOT: process.env.STSLAB_SITE_ROOT ?? "target/site", RUST_LOG: "info" },
  },
});
