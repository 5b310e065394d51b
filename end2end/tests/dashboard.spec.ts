// What a class sees on the projector, checked in Chromium against the built site on
// the practice cluster.
import { expect, test } from "@playwright/test";
import { allReady, annotate, asPresenter, hydrated, openDetails, pod, readyAt, reset, snapshot, visit } from "./cluster";

const shots = "test-results/screenshots";

test.beforeEach(async ({ page, request }) => {
  await reset(page, request);
});

test("the page is rendered on the server, hydrates, and every panel shows the lab's 3 pods", async ({ page, request }) => {
  // Before any script runs, the server-rendered HTML already has the pods.
  const html = await (await request.get("/")).text();
  for (const n of [0, 1, 2]) {
    expect(html).toContain(`data-testid="lane-${n}"`);
    expect(html).toContain(`>web-${n}</span>`);
  }

  await page.goto("/");
  await hydrated(page);
  await expect(page.getByTestId("connection")).toHaveText(/Live/);
  await expect(page.getByTestId("policy")).toHaveText("OrderedReady");
  await expect(page.getByTestId("sts-ready")).toHaveText("3/3");
  await allReady(page, 3);
  await openDetails(page);
  for (const n of [0, 1, 2]) {
    await expect(page.getByTestId(`claim-data-web-${n}`)).toContainText("Bound");
    await expect(page.getByTestId(`probes-web-${n}`)).toContainText("readiness");
    await expect(page.getByTestId(`dns-web-${n}.web.default.svc.cluster.local`)).toContainText("yes");
  }
  for (const size of [{ width: 1280, height: 720 }, { width: 1920, height: 1080 }]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `${shots}/dashboard-${size.width}x${size.height}.png`, fullPage: true });
  }
});

test("visiting one pod through the proxy raises only that pod's count on screen", async ({ page, request }) => {
  await page.goto("/");
  await hydrated(page);
  await openDetails(page);
  const count = async (pod: string) => (await snapshot(request)).pods.find((p: any) => p.name === pod)?.visits;
  await visit(request, "web-0");
  await expect(page.getByTestId("pod-web-0").getByTestId("visits")).toHaveText(/^\d+$/);
  const before = {
    web0: Number(await page.getByTestId("pod-web-0").getByTestId("visits").innerText()),
    web1: await page.getByTestId("pod-web-1").getByTestId("visits").innerText(),
    web2: await page.getByTestId("pod-web-2").getByTestId("visits").innerText(),
  };
  await visit(request, "web-0");
  await visit(request, "web-0");
  await expect(page.getByTestId("pod-web-0").getByTestId("visits")).toHaveText(String(before.web0 + 2));
  await expect(page.getByTestId("pod-web-0").locator(".visits.bumped")).toHaveCount(1);
  await page.waitForTimeout(1500);
  await expect(page.getByTestId("pod-web-1").getByTestId("visits")).toHaveText(before.web1);
  await expect(page.getByTestId("pod-web-2").getByTestId("visits")).toHaveText(before.web2);
  expect((await count("web-0")).count.value).toBe(before.web0 + 2);
  await page.screenshot({ path: `${shots}/visits-1280x720.png` });
});

test("a deleted pod goes Terminating and comes back with the same claim and count", async ({ page, request }) => {
  await page.goto("/");
  await hydrated(page);
  await openDetails(page);
  await visit(request, "web-1");
  const row = page.getByTestId("pod-web-1");
  await expect(row.getByTestId("visits")).toHaveText(/^\d+$/);
  const count = await row.getByTestId("visits").innerText();
  const claimUid = await page.getByTestId("claim-data-web-1").getByTestId("claim-uid").innerText();
  const podUid = await row.getAttribute("data-uid");

  await row.getByTestId("delete-pod").click();
  await expect(page.getByTestId("confirm")).toContainText("Delete pod web-1?");
  await page.getByTestId("confirm-yes").click();
  await expect(row.getByTestId("status")).toHaveText("Terminating");
  await expect(page.getByTestId("outcome")).toContainText("kubectl delete pod web-1 -n default");
  await page.screenshot({ path: `${shots}/terminating-1280x720.png` });

  await expect(row).not.toHaveAttribute("data-uid", podUid ?? "", { timeout: 60_000 });
  await expect(row.getByTestId("status")).toHaveText("Running", { timeout: 60_000 });
  await expect(row.getByTestId("ready")).toHaveText("1/1", { timeout: 60_000 });
  await expect(page.getByTestId("claim-data-web-1").getByTestId("claim-uid")).toHaveText(claimUid);
  await expect(row.getByTestId("visits")).toHaveText(count, { timeout: 30_000 });
});

test("only the presenter acts, only on the StatefulSet's own pods, and only from this origin", async ({ request }) => {
  const refused = await request.post("/api/fn/delete-pod", {
    form: { statefulset: "web", pod: "kube-apiserver" },
    headers: { Origin: "http://127.0.0.1:3300", ...asPresenter },
  });
  expect(refused.status()).toBe(403);
  expect(await refused.text()).toContain("is not a pod of StatefulSet web");
  const cross = await request.post("/api/fn/delete-pod", {
    form: { statefulset: "web", pod: "web-0" },
    headers: { Origin: "http://evil.example", ...asPresenter },
  });
  expect(cross.status()).toBe(403);
  // The audience (curl with or without Origin) is refused every action.
  for (const origin of [{}, { Origin: "http://127.0.0.1:3300" }]) {
    for (const [fn, form] of [
      ["delete-pod", { statefulset: "web", pod: "web-0" }],
      ["scale", { statefulset: "web", replicas: "0" }],
      ["set-policy", { statefulset: "web", policy: "Parallel" }],
    ] as const) {
      const res = await request.post(`/api/fn/${fn}`, { form, headers: origin });
      expect(res.status()).toBe(401);
      expect(await res.text()).toContain("only the presenter can change the lab");
    }
  }
  const bad = await request.post("/api/fn/scale", { form: { statefulset: "web?/../../x", replicas: "1" }, headers: asPresenter });
  expect(bad.status()).toBe(400);
  expect(await bad.text()).toContain("not a valid StatefulSet name");
  expect((await snapshot(request)).pods.find((p: any) => p.name === "web-0").status).toBe("Running");
});

test("the audience sees the same live page with no controls at all", async ({ browser, request }) => {
  const audience = await (await browser.newContext()).newPage();
  await audience.goto("/");
  await hydrated(audience);
  await expect(audience.getByTestId("role")).toHaveText(/Watching/);
  await allReady(audience, 3);
  const controls = ["delete-pod", "scale-up", "scale-down", "toggle-policy", "sign-out", "visit", "fault-readiness", "fault-liveness", "fault-app"];
  for (const control of controls) await expect(audience.getByTestId(control)).toHaveCount(0);
  await openDetails(audience);
  for (const control of controls) await expect(audience.getByTestId(control)).toHaveCount(0);
  // Live all the same: a visit made elsewhere shows up.
  await visit(request, "web-0");
  await expect(audience.getByTestId("pod-web-0").getByTestId("visits")).toHaveText(/^\d+$/);
  await audience.screenshot({ path: `${shots}/audience-1280x720.png` });
  await audience.context().close();
});

test("switching the policy changes the label and leaves pods and counts untouched", async ({ page, request }) => {
  await page.goto("/");
  await hydrated(page);
  await openDetails(page);
  await visit(request, "web-2");
  await expect(page.getByTestId("pod-web-2").getByTestId("visits")).toHaveText(/^\d+$/);
  const before = await snapshot(request);
  const uids = before.pods.map((p: any) => p.uid);
  // Visits are `{"count":{"value":N,…}}` once read (`"unknown"` or `{"error":…}` before).
  const counts = before.pods.map((p: any) => p.visits.count?.value ?? null);
  expect(typeof counts[2]).toBe("number");

  await page.getByTestId("toggle-policy").click();
  await expect(page.getByTestId("confirm")).toContainText("Switch web to Parallel?");
  await page.getByTestId("confirm-yes").click();
  await expect(page.getByTestId("policy")).toHaveText("Parallel");
  await expect(page.getByTestId("outcome")).toContainText("--cascade=orphan");
  await page.screenshot({ path: `${shots}/policy-1280x720.png` });
  await page.waitForTimeout(2000);
  const after = await snapshot(request);
  expect(after.pods.map((p: any) => p.uid)).toEqual(uids);
  expect(after.pods.map((p: any) => p.visits.count?.value ?? null)).toEqual(counts);
  expect(after.pods.every((p: any) => p.restarts === 0 && p.status === "Running")).toBe(true);
});

for (const policy of ["OrderedReady", "Parallel"]) {
  test(`scaling 3 to 5 under ${policy}`, async ({ page, request }) => {
    await page.goto("/");
    await hydrated(page);
    if (policy === "Parallel") {
      await page.getByTestId("toggle-policy").click();
      await page.getByTestId("confirm-yes").click();
      await expect(page.getByTestId("policy")).toHaveText("Parallel");
    }
    await openDetails(page);
    await page.getByTestId("scale-up").click();
    await expect(page.getByTestId("sts-replicas")).toHaveText("4");
    await page.getByTestId("scale-up").click();
    await expect(page.getByTestId("sts-replicas")).toHaveText("5");
    await expect(page.getByTestId("pod-web-4")).toBeVisible({ timeout: 60_000 });
    const web3ReadyOnScreen = (await page.getByTestId("pod-web-3").getByTestId("ready").innerText()) === "1/1";
    await page.screenshot({ path: `${shots}/scale-${policy}-1280x720.png` });
    await page.getByTestId("view-lanes").click();
    await allReady(page, 5);
    // The cluster's own record of the order: when web-4 was created versus when web-3 became Ready.
    const web4Created = Date.parse((await pod(request, "web-4")).metadata.creationTimestamp);
    const web3Ready = readyAt(await pod(request, "web-3"));
    if (policy === "OrderedReady") {
      expect(web3ReadyOnScreen).toBe(true);
      expect(web4Created).toBeGreaterThanOrEqual(web3Ready);
    } else {
      expect(web3ReadyOnScreen).toBe(false);
      expect(web4Created).toBeLessThan(web3Ready);
    }
  });
}

test("a readiness failure shows the pod not ready, its Unhealthy events, and its DNS record withdrawn", async ({ page, request }) => {
  await page.goto("/");
  await hydrated(page);
  await openDetails(page);
  await annotate(request, "web-1", "stslab.dev/fail-readiness", "true");
  const row = page.getByTestId("pod-web-1");
  await expect(row.getByTestId("ready")).toHaveText("0/1", { timeout: 60_000 });
  await expect(row.getByTestId("status")).toHaveText("Running");
  await expect(page.getByTestId("probes-web-1").getByTestId("events")).toContainText("Readiness probe failed");
  await expect(page.getByTestId("dns-web-1.web.default.svc.cluster.local")).toContainText("not ready");
  await expect(page.getByTestId("dns-web-0.web.default.svc.cluster.local")).toContainText("yes");
  await page.screenshot({ path: `${shots}/readiness-failure-1280x720.png`, fullPage: true });
  await annotate(request, "web-1", "stslab.dev/fail-readiness", null);
  await expect(row.getByTestId("ready")).toHaveText("1/1", { timeout: 60_000 });
  await expect(page.getByTestId("dns-web-1.web.default.svc.cluster.local")).toContainText("yes");
});
