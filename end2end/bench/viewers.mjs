// Measures what a room of viewers costs the dashboard (issue 6's benchmark).
//
// Run by scripts/bench-viewers.sh, which starts a practice cluster and the dashboard
// as two processes and passes their addresses. For each pod count it scales the
// StatefulSet (Parallel), opens 1, 50 and 200 live streams (from different loopback
// addresses, as laptops would), and prints:
//   - dashboard CPU (% of one core) over 10 s idle and over 10 s with one pod change per second,
//   - dashboard RSS once the streams have been idle for the idle window, and after the changes,
//   - bytes each stream receives for one single-pod change (keep-alives excluded): on the
//     wire, gzipped as a browser asks for it, and the JSON they carry,
//   - event→screen latency: from a pod's change reaching a concurrent `kubectl get pods -w`
//     to the change appearing in the page's DOM in Chromium (p50/p95), with 200 streams open.
// Figures only: nothing here passes or fails.
import { spawn, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as zlib from "node:zlib";
import { chromium } from "@playwright/test";

const env = process.env;
const DASHBOARD = env.BENCH_DASHBOARD ?? "http://127.0.0.1:3400";
const PID = Number(env.BENCH_PID);
const KUBECONFIG = env.KUBECONFIG;
const POD_COUNTS = (env.BENCH_PODS ?? "3,100,1000").split(",").map(Number);
const STREAM_COUNTS = (env.BENCH_STREAMS ?? "1,50,200").split(",").map(Number);
const LATENCY_CHANGES = Number(env.BENCH_CHANGES ?? 20);
const WINDOW_MS = 10_000;
const TICK = 100; // clock ticks per second in /proc/PID/stat (USER_HZ)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const kubectl = (...args) => execFileSync("kubectl", args, { env: { ...env, KUBECONFIG }, encoding: "utf8" }).trim();

function cpuTicks() {
  const stat = fs.readFileSync(`/proc/${PID}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}
function rssMB() {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${PID}/status`, "utf8"));
  return (Number(m[1]) / 1024).toFixed(1);
}
async function cpuPercentOver(ms, during = async () => {}) {
  const start = cpuTicks();
  const t0 = Date.now();
  await Promise.all([sleep(ms), during(ms)]);
  return (((cpuTicks() - start) / TICK) * 100_000) / (Date.now() - t0);
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

/**
 * One live stream, as a laptop's EventSource holds it: asks for gzip as Chromium does,
 * counts the bytes on the wire (and the JSON they carry) of messages that are not
 * keep-alives.
 */
function openStream(i) {
  return new Promise((resolve, reject) => {
    const url = new URL("/api/stream", DASHBOARD);
    const req = http.get(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        localAddress: `127.0.0.${2 + (i % 200)}`,
        headers: { Accept: "text/event-stream", "Accept-Encoding": "gzip, deflate, br, zstd" },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream ${i}: HTTP ${res.statusCode}`));
        const s = { req, bytes: 0, plainBytes: 0, messages: 0, first: false };
        const gzipped = res.headers["content-encoding"] === "gzip";
        const decoded = gzipped ? res.pipe(zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH })) : res;
        // Wire bytes wait here until the messages they carry are decoded.
        let wire = 0;
        let text = "";
        res.on("data", (chunk) => (wire += chunk.length));
        decoded.on("data", (chunk) => {
          text += chunk.toString();
          const parts = text.split("\n\n");
          text = parts.pop();
          if (!parts.length) return;
          // Keep-alive comments (": ...") are the cost of an idle stream, not of a change.
          const real = parts.filter((m) => m && !m.startsWith(":"));
          if (real.length) {
            s.bytes += wire;
            s.plainBytes += real.reduce((n, m) => n + Buffer.byteLength(m) + 2, 0);
            s.messages += real.length;
          }
          wire = 0;
          if (!s.first && real.length) {
            s.first = true;
            resolve(s);
          }
        });
        decoded.on("error", () => {});
        res.on("error", () => {});
      },
    );
    req.on("error", reject);
  });
}

async function scaleTo(n) {
  kubectl("scale", "statefulset", "web", `--replicas=${n}`);
  const t0 = Date.now();
  for (;;) {
    const ready = Number(kubectl("get", "statefulset", "web", "-o", "jsonpath={.status.readyReplicas}") || 0);
    const pods = kubectl("get", "pods", "-o", "name").split("\n").filter(Boolean).length;
    if (ready === n && pods === n) return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > 300_000) throw new Error(`scale to ${n}: only ${ready} ready after 300 s`);
    await sleep(500);
  }
}

/** `kubectl get pods -w`: the moment each READY change of `pod` reaches kubectl. */
function watchKubectl(pod) {
  const seen = [];
  const child = spawn("kubectl", ["get", "pods", "-w", "--no-headers"], { env: { ...env, KUBECONFIG } });
  let buf = "";
  child.stdout.on("data", (chunk) => {
    const t = Date.now();
    buf += chunk.toString();
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const cols = buf.slice(0, nl).trim().split(/\s+/);
      buf = buf.slice(nl + 1);
      if (cols[0] === pod) seen.push({ t, ready: cols[1] });
    }
  });
  return { seen, stop: () => child.kill() };
}

/** `kubectl annotate` as a merge patch on a pod, as fast as kubectl would send it. */
function annotate(pod, key, value) {
  kubectl("annotate", "pod", pod, value === null ? `${key}-` : `${key}=${value}`, "--overwrite");
}

/** Flips a pod's readiness `count` times; returns the DOM's lag behind kubectl for each flip. */
async function domLatency(page, pod, count) {
  await page.evaluate((pod) => {
    // The teaching view's lane, or the Details table's row.
    const ordinal = pod.slice(pod.lastIndexOf("-") + 1);
    const cell = () => document.querySelector(`[data-testid="lane-${ordinal}"] [data-testid="ready"], [data-testid="pod-${pod}"] [data-testid="ready"]`);
    window.__flips = [];
    let last = cell()?.textContent;
    new MutationObserver(() => {
      const now = cell()?.textContent;
      if (now !== last) {
        window.__flips.push({ t: performance.timeOrigin + performance.now(), ready: now });
        last = now;
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, pod);
  const watch = watchKubectl(pod);
  await sleep(1000);
  const lags = [];
  for (let i = 0; i < count; i++) {
    const want = i % 2 === 0 ? "0/1" : "1/1";
    const before = watch.seen.length;
    annotate(pod, "stslab.dev/fail-readiness", want === "0/1" ? "true" : null);
    const t0 = Date.now();
    let k;
    while (!(k = watch.seen.slice(before).find((s) => s.ready === want)) && Date.now() - t0 < 60_000) await sleep(20);
    let d;
    while (Date.now() - t0 < 60_000) {
      d = (await page.evaluate(() => window.__flips)).find((f) => f.ready === want && f.t >= t0 - 5);
      if (d) break;
      await sleep(20);
    }
    if (k && d) lags.push(d.t - k.t);
    await page.evaluate(() => (window.__flips = []));
  }
  watch.stop();
  return lags;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  console.log(`dashboard ${DASHBOARD} (pid ${PID}); kubeconfig ${KUBECONFIG}`);
  for (const pods of POD_COUNTS) {
    const took = await scaleTo(pods);
    await sleep(3000);
    const ssr = await fetch(DASHBOARD + "/").then((r) => r.text());
    console.log(`\n== ${pods} pods (ready in ${took.toFixed(1)} s); SSR page ${(Buffer.byteLength(ssr) / 1024).toFixed(0)} KB uncompressed`);
    console.log("streams | idle CPU % | idle B/s per stream | busy CPU % (1 change/s) | RSS MB idle; after changes | bytes/stream per change (gzip on the wire; JSON)");
    const streams = [];
    for (const target of STREAM_COUNTS) {
      while (streams.length < target) streams.push(await openStream(streams.length));
      await sleep(2000);
      const idleBefore = streams[0].bytes;
      const idle = await cpuPercentOver(WINDOW_MS);
      // Resident memory once the room has settled (the idle window), and again after the changes.
      const idleRss = rssMB();
      const idleRate = ((streams[0].bytes - idleBefore) * 1000) / WINDOW_MS;
      // One change per second: an annotation on web-1 (a pod change the dashboard must process).
      const busy = await cpuPercentOver(WINDOW_MS, async (ms) => {
        for (let i = 0; i * 1000 < ms; i++) {
          annotate(`web-${Math.min(1, pods - 1)}`, "bench/tick", String(Date.now()));
          await sleep(1000);
        }
      });
      // Bytes for one visible single-pod change: web-0's readiness, then back.
      const before = streams.map((s) => s.bytes);
      const plainBefore = streams.map((s) => s.plainBytes);
      annotate("web-0", "stslab.dev/fail-readiness", "true");
      for (let t = 0; t < 60 && !kubectl("get", "pod", "web-0", "--no-headers").includes("0/1"); t++) await sleep(250);
      await sleep(1500);
      const perStream = streams.map((s, i) => s.bytes - before[i]);
      const plainPerStream = streams.map((s, i) => s.plainBytes - plainBefore[i]);
      annotate("web-0", "stslab.dev/fail-readiness", null);
      for (let t = 0; t < 60 && !kubectl("get", "pod", "web-0", "--no-headers").includes("1/1"); t++) await sleep(250);
      await sleep(1500);
      console.log(
        `${String(target).padStart(7)} | ${idle.toFixed(1).padStart(10)} | ${idleRate.toFixed(0).padStart(19)} | ${busy.toFixed(1).padStart(23)} | ${`${idleRss}; ${rssMB()}`.padStart(27)} | ${pct(perStream, 50)}; ${pct(plainPerStream, 50)}`,
      );
    }
    // Event→screen latency with every stream still open.
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const t0 = Date.now();
    await page.goto(DASHBOARD + "/");
    await page.waitForSelector('[data-testid="lane-0"] [data-testid="ready"], [data-testid="pod-web-0"] [data-testid="ready"]');
    const rowsIn = Date.now() - t0;
    await page.waitForFunction(() => window.__stslabHydrated === true, null, { timeout: 120_000 });
    const hydratedIn = Date.now() - t0;
    await sleep(2000);
    const [html, assets] = await page.evaluate(() => [
      performance.getEntriesByType("navigation")[0].transferSize,
      performance.getEntriesByType("resource").filter((e) => e.name.includes("/pkg/")).reduce((n, e) => n + e.transferSize, 0),
    ]);
    const lags = await domLatency(page, "web-0", LATENCY_CHANGES);
    console.log(
      `page: wasm+js+css ${(assets / 1024).toFixed(0)} KB + HTML ${(html / 1024).toFixed(0)} KB transferred, rows on screen after ${rowsIn} ms, hydrated after ${hydratedIn} ms; ` +
        `DOM behind kubectl -w over ${lags.length} changes: p50 ${pct(lags, 50).toFixed(0)} ms, p95 ${pct(lags, 95).toFixed(0)} ms (${STREAM_COUNTS.at(-1)} streams open)`,
    );
    await page.close();
    for (const s of streams) s.req.destroy();
    await sleep(1000);
  }
  await browser.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
