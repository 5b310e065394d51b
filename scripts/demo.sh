#!/usr/bin/env bash
# Installs what is missing, builds the site, and starts the dashboard on an
# in-process practice cluster with the StatefulSet lab. It prints the dashboard URL
# and how to point kubectl at the same cluster. Extra arguments go to stslab
# (try --help), e.g. --kubeconfig ~/.kube/config for a real cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-site.sh
# stslab prints the audience link and the presenter link; a student alone on a laptop
# opens the presenter link (it has the buttons).
exec ./target/release/stslab "$@"
