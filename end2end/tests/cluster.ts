// Helpers that act on the practice cluster directly, the way a student beside the
// dashboard would with kubectl, and read the dashboard's JSON snapshot.
import { APIRequestContext, expect, Page } from "@playwright/test";
import { CLUSTER, PRESENTER_TOKEN } from "../playwright.config";

const NS = "/api/v1/namespaces/default";

/** One visit to a pod's app through the API server's pod proxy. */
export async function visit(request: APIRequestContext, pod: string): Promise<string> {
  const res = await request.get(`${CLUSTER}${NS}/pods/${pod}:8000/proxy/`);
  expect(res.status()).toBe(200);
  return res.text();
}

/** `kubectl annotate pod` (value null removes the annotation). */
export async function annotate(request: APIRequestContext, pod: string, key: string, value: string | null) {
  const res = await request.patch(`${CLUSTER}${NS}/pods/${pod}`, {
    headers: { "Content-Type": "application/merge-patch+json" },
    data: JSON.stringify({ metadata: { annotations: { [key]: value } } }),
  });
  expect(res.status()).toBe(200);
}

/** `kubectl scale sts web --replicas=N`. */
export async function scaleTo(request: APIRequestContext, replicas: number) {
  const res = await request.patch(`${CLUSTER}/apis/apps/v1/namespaces/default/statefulsets/web/scale`, {
    headers: { "Content-Type": "application/merge-patch+json" },
    data: JSON.stringify({ spec: { replicas } }),
  });
  expect(res.status()).toBe(200);
}

/** The dashboard's own JSON view. */
export async function snapshot(request: APIRequestContext) {
  const res = await request.get("/api/snapshot");
  expect(res.status()).toBe(200);
  return res.json();
}

/** Waits until the lanes show exactly `n` pods, all Running and Ready. */
export async function allReady(page: Page, n: number) {
  const pods = page.getByTestId("lanes").getByTestId("pod-name");
  await expect(pods).toHaveCount(n, { timeout: 60_000 });
  for (let i = 0; i < n; i++) {
    await expect(page.getByTestId(`lane-${i}`).getByTestId("ready")).toHaveText("1/1", { timeout: 60_000 });
    await expect(page.getByTestId(`lane-${i}`).getByTestId("status")).toHaveText("Running");
  }
}

/** Opens the Details view (today's tables) with its button. */
export async function openDetails(page: Page) {
  await page.getByTestId("view-details").click();
  await expect(page.getByTestId("details")).toBeVisible();
}

/** Waits for hydration: the live stream has delivered and buttons respond. */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => (window as any).__stslabHydrated === true, null, { timeout: 60_000 });
}

/** Signs this browser in as the presenter with the presenter link. */
export async function signIn(page: Page) {
  await page.goto(`/?presenter=${PRESENTER_TOKEN}`);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("role")).toContainText("Presenter");
}

/** Headers a script sends to act as the presenter. */
export const asPresenter = { Authorization: `Bearer ${PRESENTER_TOKEN}` };

/** Back to the lab's start: 3 replicas, OrderedReady, everything Ready. */
export async function reset(page: Page, request: APIRequestContext) {
  await signIn(page);
  const snap = await snapshot(request);
  if (snap.statefulset?.podManagementPolicy !== "OrderedReady") {
    await page.goto("/");
    await hydrated(page);
    await page.getByTestId("toggle-policy").click();
    await page.getByTestId("confirm-yes").click();
    await expect(page.getByTestId("policy")).toHaveText("OrderedReady");
  }
  for (const p of snap.pods ?? []) {
    for (const key of ["stslab.dev/fail-readiness", "stslab.dev/fail-liveness", "stslab.dev/crash"]) {
      await annotate(request, p.name, key, null);
    }
  }
  await scaleTo(request, 3);
  await page.goto("/");
  await allReady(page, 3);
}

/** A pod object from the practice cluster's API. */
export async function pod(request: APIRequestContext, name: string): Promise<any> {
  const res = await request.get(`${CLUSTER}${NS}/pods/${name}`);
  expect(res.status()).toBe(200);
  return res.json();
}

/** When a pod became Ready, from its Ready condition. */
export function readyAt(p: any): number {
  const c = (p.status?.conditions ?? []).find((c: any) => c.type === "Ready" && c.status === "True");
  return c ? Date.parse(c.lastTransitionTime) : NaN;
}
