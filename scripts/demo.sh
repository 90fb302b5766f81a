#!/usr/bin/env bash
# make demo: start the embedded simulated cluster with a mixed fleet, run pvc-chonker against
# it twice, and show what changed. Nothing leaves 127.0.0.1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$root/.cache/demo"
mkdir -p "$work"
kubeconfig="$work/kubeconfig"

node dist/sim/main.js --seed test/fixtures/sim/demo-fleet.yaml --crds cronjob/crds \
  --kubeconfig-out "$kubeconfig" --resize-delay-ms 1500 --ec2 --kubelets >"$work/sim.out" 2>"$work/sim.err" &
sim=$!
pids=("$sim")
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [[ -s "$work/sim.out" ]] && break
  sleep 0.1
done
ready() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0])[process.argv[2]])' "$work/sim.out" "$1"; }
url="$(ready url)"
# The real AWS SDK asks the simulated EC2 API about the fleet's EBS volumes.
AWS_ENDPOINT_URL_EC2="$(ready ec2Url)"
export AWS_ENDPOINT_URL_EC2 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=eu-west-1

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
bold "Simulated cluster at $url (kubeconfig: $kubeconfig)"
bold "\$ kubectl apply -f docs/examples/    # a PVCPolicy and a PVCGroup (POSTed here: no kubectl needed)"
# What kubectl apply does for a new object: POST it with fieldValidation=Strict.
# shellcheck disable=SC2016 # the ${...} are JavaScript template literals, not shell expansions
node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import { parse } from "yaml";
  const [url, ...files] = process.argv.slice(1);
  const plurals = { PVCPolicy: "pvcpolicies", PVCGroup: "pvcgroups" };
  for (const file of files) {
    const o = parse(readFileSync(file, "utf8"));
    const ns = o.metadata.namespace === undefined ? "" : `/namespaces/${o.metadata.namespace}`;
    const res = await fetch(`${url}/apis/${o.apiVersion}${ns}/${plurals[o.kind]}?fieldValidation=Strict`,
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(o) });
    if (!res.ok) throw new Error(`${file}: HTTP ${res.status} ${await res.text()}`);
    console.log(`${o.kind.toLowerCase()}.pvc-chonker.io/${o.metadata.name} created`);
  }' "$url" docs/examples/database-policy.yaml docs/examples/elasticsearch-group.yaml
printf 'databases/data-timescale-0 has no pvc-chonker annotation: database-policy selects it by its\n'
printf 'label workload=database. search/data-elasticsearch-0, -1 and -2 form elasticsearch-cluster.\n'

bold "\$ pvc-chonker run --kubeconfig $kubeconfig --dry-run"
node dist/pvc-chonker.mjs run --kubeconfig "$kubeconfig" --dry-run --log-level warn
bold "\$ pvc-chonker run --kubeconfig $kubeconfig"
node dist/pvc-chonker.mjs run --kubeconfig "$kubeconfig" --log-level warn
bold "Waiting for the simulated CSI resizer and kubelet to catch up..."
curl -fsS -X POST "$url/_sim/settle" >/dev/null 2>&1 || sleep 2
bold "\$ pvc-chonker run --kubeconfig $kubeconfig    # again: cooldown holds, nothing is expanded twice"
node dist/pvc-chonker.mjs run --kubeconfig "$kubeconfig" --log-level warn
bold "\$ pvc-chonker explain databases/data-timescale-0 --kubeconfig $kubeconfig"
node dist/pvc-chonker.mjs explain databases/data-timescale-0 --kubeconfig "$kubeconfig" --log-level warn
bold "\$ pvc-chonker explain databases/data-mysql-0 --kubeconfig $kubeconfig    # a forecast from its usage samples"
node dist/pvc-chonker.mjs explain databases/data-mysql-0 --kubeconfig "$kubeconfig" --log-level warn
bold "\$ pvc-chonker recommend --kubeconfig $kubeconfig    # read-only: cheaper volume types and the monthly saving"
node dist/pvc-chonker.mjs recommend --kubeconfig "$kubeconfig" --log-level warn
bold "Events recorded on the PVCs:"
# shellcheck disable=SC2016 # the ${...} are JavaScript template literals, not shell expansions
curl -fsS "$url/api/v1/events" | node -e '
  const list = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const e of list.items) console.log(`${e.type.padEnd(8)} ${(e.involvedObject.namespace + "/" + e.involvedObject.name).padEnd(34)} ${e.reason.padEnd(22)} ${e.message}`);
'

# The admission webhook: a second small sim (with the CRDs, the project's webhook configurations
# and one PVCPolicy) calls `pvc-chonker webhook --auto-tls` on every PVC create, as an API server.
bold "Admission webhook: pvc-chonker webhook --auto-tls, called by the simulated API server"
hook_kubeconfig="$work/webhook.kubeconfig"
{ cat cronjob/webhook/webhook-configurations.yaml; echo '---'; cat test/fixtures/sim/webhook-demo.yaml; } >"$work/webhook-seed.yaml"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
node dist/sim/main.js --seed "$work/webhook-seed.yaml" --crds cronjob/crds --kubeconfig-out "$hook_kubeconfig" \
  --webhook-service "pvc-chonker/pvc-chonker-webhook=127.0.0.1:$port" >"$work/webhook-sim.out" 2>"$work/webhook-sim.err" &
pids+=("$!")
for _ in $(seq 1 100); do
  [[ -s "$work/webhook-sim.out" ]] && break
  sleep 0.1
done
hook_url="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]).url)' "$work/webhook-sim.out")"
node dist/pvc-chonker.mjs webhook --kubeconfig "$hook_kubeconfig" --port "$port" --auto-tls \
  --tls-secret pvc-chonker/pvc-chonker-webhook-tls --service pvc-chonker/pvc-chonker-webhook \
  --webhook-configuration pvc-chonker --log-level warn 2>"$work/webhook.err" &
pids+=("$!")
for _ in $(seq 1 100); do
  curl -fsSk "https://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
# Creates a PVC the way kubectl would and prints what the API server answered.
create_pvc() {
  # shellcheck disable=SC2016 # the ${...} are JavaScript template literals, not shell expansions
  curl -sS -i -X POST -H 'Content-Type: application/json' --data "$1" \
    "$hook_url/api/v1/namespaces/db/persistentvolumeclaims" | node -e '
    const [head, body] = require("fs").readFileSync(0, "utf8").split("\r\n\r\n");
    for (const w of head.match(/^warning: .*$/gim) ?? []) console.log("  Warning:", w.replace(/^warning: 299 - "(.*)"$/i, "$1"));
    const o = JSON.parse(body);
    if (o.kind === "Status") { console.log(`  refused (${o.code}): ${o.message}`); process.exit(0); }
    console.log(`  created: request ${o.spec.resources.requests.storage}, annotations ${JSON.stringify(o.metadata.annotations ?? {})}`);'
}
pvc() { printf '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"%s","labels":%s,"annotations":%s},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"10Gi"}}}}' "$1" "$2" "$3"; }
# The last section is an extra: a failure here is reported, not fatal.
bold "POST a 10Gi PVC labelled app=pg (PVCPolicy databases selects it, initialSize 20Gi):"
create_pvc "$(pvc pg-0 '{"app":"pg"}' '{}')" || echo "  (failed; see $work/webhook.err)"
bold "POST a PVC annotated pvc-chonker.io/threshold: eighty:"
create_pvc "$(pvc cache-0 '{}' '{"pvc-chonker.io/threshold":"eighty"}')" || echo "  (failed; see $work/webhook.err)"

printf '\nLogs are JSON lines on stderr; try: node dist/pvc-chonker.mjs run --kubeconfig %s --output json\n' "$kubeconfig"
