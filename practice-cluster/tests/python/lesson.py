"""A scripted lesson through the Python `kubernetes` client, run by tests/restart.rs
while it kills the practice cluster with kill -9 and starts it again on the same port
and state directory.

Each step creates a Service, visits a lab pod through the API server's pod proxy and
lists the pods. A call the cluster did not answer (it was down, or its pods were still
starting) is tried again until it is answered. When the file named by the third argument
exists (the test made its last restart), the lesson takes a few more steps, checks a
watch from before the restarts, and prints as JSON what the cluster acknowledged. Its
first line, `started`, tells the test that the lesson has begun.

    lesson.py KUBECONFIG MAX_STEPS DONE_FILE
"""

import json
import os
import re
import sys
import time

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

PATIENCE_S = 120
PODS = ["web-0", "web-1", "web-2"]


def main():
    kubeconfig, max_steps, done_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    config.load_kube_config(kubeconfig)
    configuration = client.Configuration.get_default_copy()
    configuration.retries = 0  # the lesson retries by itself, and counts the outages
    v1 = client.CoreV1Api(client.ApiClient(configuration))
    outages = 0

    def answered(what, call, retry_codes=(503,)):
        """`call()`, tried again while the cluster is down or answers one of `retry_codes`."""
        nonlocal outages
        start = time.monotonic()
        while True:
            try:
                return call()
            except (urllib3.exceptions.HTTPError, OSError) as e:
                outages += 1
                reason = f"no answer: {e}"
            except ApiException as e:
                if e.status not in retry_codes:
                    raise
                reason = f"{e.status} {e.reason}"
            if time.monotonic() - start > PATIENCE_S:
                sys.exit(f"{what}: still {reason} after {PATIENCE_S} s")
            time.sleep(0.1)

    first_list = answered("list pods", lambda: v1.list_namespaced_pod("default"))
    version_before = first_list.metadata.resource_version
    print("started", flush=True)
    services, visits, counts = [], {p: 0 for p in PODS}, {}
    steps_after_done = 0
    for step in range(max_steps):
        if os.path.exists(done_file):
            steps_after_done += 1
            if steps_after_done > 5:
                break
        name = f"lesson-{step}"
        body = client.V1Service(metadata=client.V1ObjectMeta(name=name), spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80)]))
        try:
            answered(f"create {name}", lambda: v1.create_namespaced_service("default", body))
            services.append(name)
        except ApiException as e:
            # Sent before a crash and written, but the answer was lost: it exists.
            if e.status != 409:
                raise
        pod = PODS[step % len(PODS)]
        page = answered(f"visit {pod}", lambda: v1.connect_get_namespaced_pod_proxy_with_path(f"{pod}:8000", "default", ""))
        visits[pod] += 1
        counts[pod] = int(re.search(r"visit number (\d+)", page).group(1))
        listed = answered("list pods", lambda: v1.list_namespaced_pod("default"))
        names = sorted(p.metadata.name for p in listed.items)
        if names != PODS:
            sys.exit(f"step {step}: the pods are {names}, not {PODS}")
    else:
        sys.exit(f"the test did not finish restarting within {max_steps} steps")

    # A watch from before the restarts resumes or is told to re-list (410 Gone).
    try:
        for _ in watch.Watch().stream(v1.list_namespaced_pod, "default", resource_version=version_before, timeout_seconds=1):
            pass
        old_watch = "resumed"
    except ApiException as e:
        if e.status != 410:
            raise
        old_watch = "expired"
    fresh = v1.list_namespaced_pod("default").metadata.resource_version
    for _ in watch.Watch().stream(v1.list_namespaced_pod, "default", resource_version=fresh, timeout_seconds=1):
        pass

    print(json.dumps({"services": services, "visits": visits, "counts": counts, "outages": outages, "old_watch": old_watch}))


if __name__ == "__main__":
    main()
