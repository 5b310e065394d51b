// The teaching view as a class sees it on a projector: ordinal lanes that fit the
// screen, themes, keyboard, accessibility, and the story the timeline tells.
import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "@playwright/test";
import { allReady, annotate, hydrated, openDetails, reset, scaleTo, signIn, visit } from "./cluster";
import { CLUSTER } from "../playwright.config";

const screens = "test-results/screens";
const themes = ["system", "projector", "light", "dark"];

test.beforeEach(async ({ page, request }) => {
  await reset(page, request);
});

/** Every element of every lane, the StatefulSet header and the timeline lie inside the viewport. */
async function expectAllOnScreen(page: Page, lanes: number) {
  const size = page.viewportSize()!;
  const outside = await page.evaluate(
    ({ lanes, width, height }) => {
      const wanted = [
        ...Array.from({ length: lanes }, (_, i) => `[data-testid="lane-${i}"], [data-testid="lane-${i}"] *`),
        '[data-testid="sts-ready"]', '[data-testid="policy"]', '[data-testid="sts-service"]', '[data-testid="timeline"] h2',
      ];
      const bad: string[] = [];
      for (const el of document.querySelectorAll(wanted.join(", "))) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if (r.left < 0 || r.top < 0 || r.right > width + 0.5 || r.bottom > height + 0.5) {
          bad.push(`${el.closest("[data-testid]")?.getAttribute("data-testid")} <${el.tagName.toLowerCase()}> "${(el.textContent ?? "").slice(0, 30)}" at ${Math.round(r.left)},${Math.round(r.top)}-${Math.round(r.right)},${Math.round(r.bottom)}`);
        }
      }
      return bad;
    },
    { lanes, width: size.width, height: size.height },
  );
  expect(outside, `outside the ${size.width}×${size.height} viewport`).toEqual([]);
  // Nothing to scroll to: the page itself is exactly one screen.
  expect(await page.evaluate(() => document.scrollingElement!.scrollHeight <= window.innerHeight)).toBe(true);
  for (let i = 0; i < lanes; i++) await expect(page.getByTestId(`lane-${i}`)).toBeInViewport({ ratio: 1 });
}

/** The smallest font size of text in the lanes and timeline, and the counts' size. */
async function typeSizes(page: Page) {
  return page.evaluate(() => {
    const sizes: number[] = [];
    for (const el of document.querySelectorAll('[data-testid="lanes"] *, [data-testid="timeline"] *')) {
      const own = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== "");
      if (own) sizes.push(parseFloat(getComputedStyle(el).fontSize));
    }
    const counts = Array.from(document.querySelectorAll('[data-testid="lanes"] .count .visits')).map((e) => parseFloat(getComputedStyle(e).fontSize));
    return { smallest: Math.min(...sizes), counts };
  });
}

async function visitAll(request: any, n: number) {
  for (let i = 0; i < n; i++) await visit(request, `web-${i}`);
}

test("at 1280×720 the header, 5 lanes and the timeline fit on one screen, in every theme, in type a room can read", async ({ page, request }) => {
  await scaleTo(request, 5);
  await page.goto("/");
  await hydrated(page);
  await allReady(page, 5);
  await visitAll(request, 5);
  for (let i = 0; i < 5; i++) await expect(page.getByTestId(`lane-${i}`).getByTestId("visits")).toHaveText(/^\d+$/);
  // The kubelet reports no liveness success: once the first check is due (3 s after the
  // start) and no failure came, the light says it passes, not "not yet run".
  for (let i = 0; i < 5; i++) await expect(page.getByTestId(`lane-${i}`).getByTestId("probe-liveness")).toContainText("✓ ok", { timeout: 15_000 });
  for (const theme of themes) {
    await page.getByTestId("theme").selectOption(theme);
    await expect(page.getByTestId("app")).toHaveAttribute("data-theme", theme);
    await expectAllOnScreen(page, 5);
    await page.screenshot({ path: `${screens}/lanes-${theme}-1280x720.png` });
  }
  const { smallest, counts } = await typeSizes(page);
  expect(smallest).toBeGreaterThanOrEqual(16);
  expect(counts).toHaveLength(5);
  for (const c of counts) expect(c).toBeGreaterThanOrEqual(32);
  // Each lane reads top to bottom: pod, count, probes, claim, volume, DNS name.
  const lane = page.getByTestId("lane-2");
  await expect(lane.getByTestId("pod-name")).toHaveText("web-2");
  await expect(lane.getByTestId("claim-name")).toHaveText("data-web-2");
  await expect(lane.getByTestId("claim-status")).toHaveText("Bound");
  await expect(lane.getByTestId("volume")).toContainText("pvc-");
  await expect(lane.getByTestId("dns-name")).toHaveText("web-2.web.default.svc.cluster.local");
  await expect(lane.getByTestId("dns-state")).toContainText("published");
  for (const kind of ["startup", "liveness", "readiness"]) await expect(lane.getByTestId(`probe-${kind}`)).toContainText(kind);
  await expect(lane.getByTestId("probe-readiness")).toContainText("passing");
});

test("at 1920×1080 the header, 10 lanes and the timeline fit on one screen", async ({ page, request }) => {
  await page.setViewportSize({ width: 1920, height: 1080 });
  await scaleTo(request, 10);
  await page.goto("/");
  await hydrated(page);
  await allReady(page, 10);
  for (const theme of themes) {
    await page.getByTestId("theme").selectOption(theme);
    await expectAllOnScreen(page, 10);
    await page.screenshot({ path: `${screens}/lanes-${theme}-1920x1080.png` });
  }
  expect((await typeSizes(page)).smallest).toBeGreaterThanOrEqual(16);
});

test("a claim kept after scaling down is an empty lane: claim kept, no pod", async ({ page, request }) => {
  await scaleTo(request, 4);
  await page.goto("/");
  await allReady(page, 4);
  const uid = await page.getByTestId("lane-3").getByTestId("claim-uid").getAttribute("data-uid");
  await scaleTo(request, 3);
  const kept = page.getByTestId("lane-3");
  await expect(kept.getByTestId("no-pod")).toHaveText(/claim kept, no pod/, { timeout: 60_000 });
  await expect(kept.getByTestId("claim-name")).toHaveText("data-web-3");
  await expect(kept.getByTestId("claim-uid")).toHaveAttribute("data-uid", uid!);
  await expect(kept.getByTestId("dns-state")).toHaveText("no pod, no DNS record");
  await expect(kept.getByTestId("delete-pod")).toHaveCount(0);
  await page.screenshot({ path: `${screens}/kept-claim-1280x720.png` });
});

test("axe finds no serious or critical violation in any view or theme", async ({ page, browser }) => {
  await page.goto("/");
  await hydrated(page);
  const problems: string[] = [];
  const check = async (p: Page, what: string) => {
    const result = await new AxeBuilder({ page: p }).analyze();
    for (const v of result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")) {
      problems.push(`${what}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
    }
  };
  for (const theme of themes) {
    await page.getByTestId("theme").selectOption(theme);
    await page.getByTestId("view-lanes").click();
    await check(page, `lanes/${theme}`);
    await openDetails(page);
    await check(page, `details/${theme}`);
    await page.screenshot({ path: `${screens}/details-${theme}-1280x720.png`, fullPage: true });
  }
  await page.getByTestId("view-lanes").click();
  await page.keyboard.press("?");
  await expect(page.getByTestId("shortcuts")).toBeVisible();
  await check(page, "shortcuts");
  await page.screenshot({ path: `${screens}/shortcuts-1280x720.png` });
  await page.keyboard.press("Escape");
  // The system theme when the system is dark, and the audience's page (no buttons).
  const dark = await browser.newContext({ colorScheme: "dark" });
  const audience = await dark.newPage();
  await audience.goto("/");
  await hydrated(audience);
  await check(audience, "lanes/system-dark/audience");
  await audience.screenshot({ path: `${screens}/lanes-system-dark-audience-1280x720.png` });
  await dark.close();
  expect(problems).toEqual([]);
});

test("at 200 % zoom the lanes wrap, nothing overlaps, and nothing needs sideways scrolling", async ({ browser, request }) => {
  await scaleTo(request, 5);
  // 200 % zoom of a 1280×720 window: half the CSS pixels, twice the device pixels.
  const zoomed = await browser.newContext({ viewport: { width: 640, height: 360 }, deviceScaleFactor: 2 });
  const page = await zoomed.newPage();
  await signIn(page);
  await page.goto("/");
  await hydrated(page);
  await allReady(page, 5);
  const boxes = await Promise.all([0, 1, 2, 3, 4].map(async (i) => (await page.getByTestId(`lane-${i}`).boundingBox())!));
  expect(new Set(boxes.map((b) => Math.round(b.y))).size, "lanes wrap onto more than one row").toBeGreaterThan(1);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
      expect(overlap, `lane ${i} overlaps lane ${j}`).toBe(false);
    }
  }
  expect(await page.evaluate(() => document.scrollingElement!.scrollWidth <= window.innerWidth)).toBe(true);
  // Every lane's parts stay inside their lane.
  const spill = await page.evaluate(() => {
    const out: string[] = [];
    for (const lane of document.querySelectorAll('[data-testid^="lane-"].lane')) {
      const l = lane.getBoundingClientRect();
      for (const part of lane.querySelectorAll(".part, .count, .lights, .lane-actions")) {
        const r = part.getBoundingClientRect();
        if (r.left < l.left - 0.5 || r.right > l.right + 0.5) out.push(`${lane.getAttribute("data-testid")} ${part.className}`);
      }
    }
    return out;
  });
  expect(spill).toEqual([]);
  await page.screenshot({ path: `${screens}/lanes-zoom200.png`, fullPage: true });
  await zoomed.close();
});

test("keyboard only: Tab to a lane's delete, Enter, confirm; ? lists the keys, d opens Details, t changes the theme and it is remembered", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  const uid = await page.getByTestId("lane-1").getAttribute("data-uid");
  let reached = false;
  for (let i = 0; i < 80 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => {
      const a = document.activeElement;
      return a?.getAttribute("data-testid") === "delete-pod" && a.closest('[data-testid="lane-1"]') !== null;
    });
  }
  expect(reached, "Tab reaches lane 1's Delete").toBe(true);
  // The focus is visible.
  expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).not.toBe("none");
  await page.screenshot({ path: `${screens}/keyboard-focus-1280x720.png` });
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("confirm")).toContainText("Delete pod web-1?");
  await expect(page.getByTestId("confirm-no")).toBeFocused();
  // Esc cancels, and the focus is back on the Delete that opened the dialog.
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("confirm")).toHaveCount(0);
  await expect(page.getByTestId("lane-1").getByTestId("delete-pod")).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("confirm-no")).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByTestId("confirm-yes")).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("outcome")).toContainText("kubectl delete pod web-1 -n default");
  await expect(page.getByTestId("lane-1")).not.toHaveAttribute("data-uid", uid ?? "", { timeout: 60_000 });

  await page.keyboard.press("?");
  await expect(page.getByTestId("shortcuts")).toContainText("d");
  await expect(page.getByTestId("shortcuts")).toContainText("Details");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("shortcuts")).toHaveCount(0);
  await page.keyboard.press("d");
  await expect(page.getByTestId("details")).toBeVisible();
  await expect(page.getByTestId("pods-panel")).toBeVisible();
  await page.keyboard.press("d");
  await expect(page.getByTestId("lanes")).toBeVisible();

  const before = await page.getByTestId("app").getAttribute("data-theme");
  await page.keyboard.press("t");
  const after = await page.getByTestId("app").getAttribute("data-theme");
  expect(after).not.toBe(before);
  // The server renders the remembered theme in the first paint, before any script runs.
  const html = await (await page.request.get("/")).text();
  expect(html).toContain(`data-theme="${after}"`);
  await page.reload();
  await expect(page.getByTestId("app")).toHaveAttribute("data-theme", after!);
  await page.getByTestId("theme").selectOption("system");
});

test("a deleted pod comes back in its lane with the same count, claim UID and DNS name, and the timeline tells the story", async ({ page, request }) => {
  await page.goto("/");
  await hydrated(page);
  // Wait for the count this visit made, not an older reading still on screen.
  const counted = /visit number (\d+)/.exec(await visit(request, "web-1"))![1];
  const lane = page.getByTestId("lane-1");
  await expect(lane.getByTestId("visits")).toHaveText(counted);
  const before = {
    count: await lane.getByTestId("visits").innerText(),
    claim: await lane.getByTestId("claim-uid").innerText(),
    dns: await lane.getByTestId("dns-name").innerText(),
    ip: await lane.getByTestId("ip").innerText(),
    uid: await lane.getAttribute("data-uid"),
  };
  await lane.getByTestId("delete-pod").click();
  await page.getByTestId("confirm-yes").click();
  await expect(lane.getByTestId("status")).toHaveText("Terminating");
  await page.screenshot({ path: `${screens}/delete-terminating-1280x720.png` });
  await expect(lane).not.toHaveAttribute("data-uid", before.uid ?? "", { timeout: 60_000 });
  await expect(lane.getByTestId("ready")).toHaveText("1/1", { timeout: 60_000 });
  await expect(lane.getByTestId("visits")).toHaveText(before.count, { timeout: 30_000 });
  await expect(lane.getByTestId("claim-uid")).toHaveText(before.claim);
  await expect(lane.getByTestId("dns-name")).toHaveText(before.dns);
  await expect(lane.getByTestId("dns-state")).toContainText("published");
  const timeline = page.getByTestId("timeline");
  for (const words of [/web-1.*Terminating/, /(creates|created) web-1/, /web-1.*same claim/, /web-1 is Ready/, /web-1.*count/]) {
    await expect(timeline.getByTestId("narration").filter({ hasText: words }).first()).toBeVisible({ timeout: 60_000 });
  }
  await expect(timeline).toContainText("kubectl");
  await page.screenshot({ path: `${screens}/delete-story-1280x720.png` });
});

test("breaking and healing readiness from the lane: the light, the DNS state and the timeline follow", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  const lane = page.getByTestId("lane-1");
  await lane.getByTestId("fault-readiness").click();
  await expect(page.getByTestId("outcome")).toContainText("kubectl annotate pod web-1");
  await expect(lane.getByTestId("fault-readiness")).toHaveAttribute("aria-pressed", "true");
  await expect(lane.getByTestId("probe-readiness")).toContainText("failing", { timeout: 60_000 });
  await expect(lane.getByTestId("ready")).toHaveText("0/1", { timeout: 60_000 });
  await expect(lane.getByTestId("dns-state")).toContainText("withheld");
  await expect(page.getByTestId("lane-0").getByTestId("dns-state")).toContainText("published");
  const timeline = page.getByTestId("timeline");
  await expect(timeline.getByTestId("narration").filter({ hasText: /web-1.*(no longer Ready|not Ready|withdrawn|removed)/ }).first()).toBeVisible({ timeout: 60_000 });
  await page.screenshot({ path: `${screens}/readiness-broken-1280x720.png` });
  await lane.getByTestId("fault-readiness").click();
  await expect(lane.getByTestId("ready")).toHaveText("1/1", { timeout: 60_000 });
  await expect(lane.getByTestId("probe-readiness")).toContainText("passing");
  await expect(lane.getByTestId("dns-state")).toContainText("published");
  await expect(timeline.getByTestId("narration").filter({ hasText: /web-1.*Ready again/ }).first()).toBeVisible({ timeout: 60_000 });
});

test("Visit on a lane raises that pod's count on screen and says the kubectl equivalent", async ({ page, request }) => {
  await page.goto("/");
  await hydrated(page);
  const before = Number(/visit number (\d+)/.exec(await visit(request, "web-2"))![1]);
  const count = page.getByTestId("lane-2").getByTestId("visits");
  await expect(count).toHaveText(String(before));
  await page.getByTestId("lane-2").getByTestId("visit").click();
  await expect(count).toHaveText(String(before + 1));
  await expect(page.getByTestId("outcome")).toContainText("kubectl");
});

test("a broken StatefulSet shows each failure as kubectl prints it, and a crash as a crash, not a failing probe", async ({ page, request }) => {
  const apps = `${CLUSTER}/apis/apps/v1/namespaces/default/statefulsets`;
  const services = `${CLUSTER}/api/v1/namespaces/default/services`;
  // Like the broken lab: broken-0's init container fails; broken-1's app will exit.
  const service = { apiVersion: "v1", kind: "Service", metadata: { name: "broken" }, spec: { clusterIP: "None", selector: { app: "broken" }, ports: [{ name: "http", port: 8000 }] } };
  const statefulset = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "broken" },
    spec: {
      serviceName: "broken",
      replicas: 2,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: { app: "broken" } },
      template: {
        metadata: { labels: { app: "broken" } },
        spec: {
          initContainers: [
            { name: "check-config", image: "busybox:1.36", command: ["sh", "-c", "if [ \"$HOSTNAME\" = broken-0 ]; then echo 'config.yaml: No such file or directory' >&2; exit 1; fi"] },
          ],
          containers: [
            {
              name: "app",
              image: "stslab/visits:1.0",
              env: [{ name: "VISITS_FILE", value: "/data/visits" }],
              ports: [{ name: "http", containerPort: 8000 }],
              volumeMounts: [{ name: "data", mountPath: "/data" }],
              readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 2 },
              livenessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 2 },
            },
          ],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
    },
  };
  expect((await request.post(services, { data: service })).status()).toBe(201);
  expect((await request.post(apps, { data: statefulset })).status()).toBe(201);
  try {
    await page.goto("/?statefulset=broken");
    await hydrated(page);
    const lane0 = page.getByTestId("lane-0");
    const lane1 = page.getByTestId("lane-1");
    await expect(lane0.getByTestId("status")).toHaveText(/^Init:(Error|CrashLoopBackOff)$/, { timeout: 60_000 });
    await expect(lane0.getByTestId("ready")).toHaveText("0/1");
    await expect(lane1.getByTestId("ready")).toHaveText("1/1", { timeout: 60_000 });
    await annotate(request, "broken-1", "stslab.dev/crash", "true");
    await expect(lane1.getByTestId("status")).toHaveText("CrashLoopBackOff", { timeout: 90_000 });
    await expect(lane1.getByTestId("ready")).toHaveText("0/1");
    // The app exited: the lane says so with its exit code, and no probe is said to fail.
    await expect(lane1.getByTestId("crash")).toContainText(/app exited: .*\(exit \d+\)/);
    for (const kind of ["liveness", "readiness"]) await expect(lane1.getByTestId(`probe-${kind}`)).not.toContainText("✗");
    await expect(lane1.getByTestId("dns-state")).toContainText("withheld");
    const result = await new AxeBuilder({ page }).analyze();
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.id);
    expect(serious).toEqual([]);
    await page.screenshot({ path: `${screens}/broken-1280x720.png` });
  } finally {
    await request.delete(`${apps}/broken`);
    await request.delete(`${services}/broken`);
  }
});
