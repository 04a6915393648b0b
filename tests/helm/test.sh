#!/usr/bin/env bash
# Tests of the Helm chart helm/tokenbroker, with no cluster:
#   1. helm lint --strict with the values of every case (tests/helm/cases/*.yaml);
#   2. helm template of every case, each rendered object decoded STRICTLY into the Kubernetes
#      API types (tests/helm/kubevalidate), then assertions on the objects (assert_rendered.py);
#   3. values that must be refused: helm template (and lint) must FAIL, saying why;
#   4. the validator itself must reject bad manifests (so a green run means something);
#   5. every key of values.yaml is commented, and NOTES.txt says what it must;
#   6. the real tokenbroker/tokenctl binaries accept every flag the chart passes them;
#   7. the Istio example (helm/examples/istio-egress): the chart rendered with its values goes
#      through 2. and 6., its Istio objects and meshConfig are decoded strictly into Istio's
#      API types, and its pieces agree with each other and the chart (check_istio_example.py).
# Installs its tools on first use (install-tools.sh). Ends with "N passed, M failed".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chart="$root/helm/tokenbroker"
start=$SECONDS

eval "$("$here/install-tools.sh")"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }

cases=()
for f in "$here"/cases/*.yaml; do cases+=("$(basename "$f" .yaml)"); done

echo "== values.yaml: every value commented"
if python3 "$here/check_values_comments.py" "$chart/values.yaml" >"$out/comments.log" 2>&1; then
  pass "every key of values.yaml has a comment"
else
  fail "values.yaml has uncommented keys"; sed 's/^/        /' "$out/comments.log"
fi

echo "== helm lint --strict (${#cases[@]} value sets)"
for c in "${cases[@]}"; do
  if "$HELM" lint --strict "$chart" -f "$here/cases/$c.yaml" >"$out/lint-$c.log" 2>&1; then
    pass "lint $c"
  else
    fail "lint $c"; sed 's/^/        /' "$out/lint-$c.log"
  fi
done

echo "== helm template + strict Kubernetes API validation"
for c in "${cases[@]}"; do
  if ! "$HELM" template tb "$chart" --namespace default -f "$here/cases/$c.yaml" \
      >"$out/$c.yaml" 2>"$out/$c.err"; then
    fail "render $c"; sed 's/^/        /' "$out/$c.err"; continue
  fi
  if "$KUBEVALIDATE" -json "$out/$c.json" "$out/$c.yaml" >"$out/$c.kv" 2>&1; then
    pass "render $c: $(cat "$out/$c.kv")"
  else
    fail "render $c: kubevalidate"; sed 's/^/        /' "$out/$c.kv"
  fi
done

echo "== the Istio example: tokenbroker's values, rendered as its README installs them"
example="$root/helm/examples/istio-egress"
ex_values=(--namespace tokenbroker -f "$example/tokenbroker-values.yaml"
           --set keyring.existingSecret=tokenbroker-keyring)
if ! "$HELM" lint --strict "$chart" "${ex_values[@]}" >"$out/lint-example.log" 2>&1; then
  fail "lint example-istio-egress"; sed 's/^/        /' "$out/lint-example.log"
elif ! "$HELM" template tokenbroker "$chart" "${ex_values[@]}" \
    >"$out/example-istio-egress.yaml" 2>"$out/example.err"; then
  fail "render example-istio-egress"; sed 's/^/        /' "$out/example.err"
elif "$KUBEVALIDATE" -json "$out/example-istio-egress.json" "$out/example-istio-egress.yaml" \
    >"$out/example.kv" 2>&1; then
  pass "lint and render example-istio-egress: $(cat "$out/example.kv")"
else
  fail "render example-istio-egress: kubevalidate"; sed 's/^/        /' "$out/example.kv"
fi
[[ -f "$out/example-istio-egress.json" ]] && cases+=(example-istio-egress)

echo "== assertions on the rendered objects"
rendered=()
for c in "${cases[@]}"; do [[ -f "$out/$c.json" ]] && rendered+=("$c"); done
if python3 "$here/assert_rendered.py" "$out" "${rendered[@]}" >"$out/assert.log" 2>&1; then :; fi
grep -E '^(==|  FAIL)' "$out/assert.log" || true
summary="$(tail -n 1 "$out/assert.log")"
if [[ "$summary" =~ ^assertions:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
  echo "  $summary (each listed in full with TEST_VERBOSE=1)"
  [[ "${TEST_VERBOSE:-}" == 1 ]] && grep '^  ok' "$out/assert.log"
else
  fail "assert_rendered.py did not finish"; sed 's/^/        /' "$out/assert.log"
fi

echo "== NOTES.txt"
# notes_say CASE FRAGMENT: the NOTES of a client-side dry-run install of CASE contain FRAGMENT.
notes_say() {
  "$HELM" install tb "$chart" --dry-run=client -f "$here/cases/$1.yaml" >"$out/notes" 2>&1 || true
  if sed -n '/^NOTES:/,$p' "$out/notes" | tr '\n' ' ' | grep -F -- "$2" >/dev/null; then
    pass "NOTES of $1 say '$2'"
  else
    fail "NOTES of $1 do not say '$2'"
  fi
}
notes_say sqlite-unauthenticated "It is NOT highly available"
notes_say sqlite-unauthenticated "anyone who reaches the gRPC port gets tokens"
notes_say postgres-mtls-hpa "PostgreSQL mode: 3-10 pods (HorizontalPodAutoscaler)"
notes_say postgres-mtls-hpa "(TLS, mutual)"
notes_say postgres-ext-authz "ext_authz: tb-tokenbroker.default.svc.cluster.local:50052"
# ... and with no caller authentication, that the ext_authz port hands out tokens too.
"$HELM" install tb "$chart" --dry-run=client --set keyring.existingSecret=tb-keyring \
  --set auth.allowUnauthenticated=true --set extAuthz.enabled=true >"$out/notes" 2>&1 || true
# Captured first: a pipeline ending in `grep -q` fails under pipefail when grep exits
# on the match before the writer is done (SIGPIPE).
notes="$(sed -n '/^NOTES:/,$p' "$out/notes" | tr '\n' ' ')"
if grep -qF "gRPC port or the ext_authz port gets tokens" <<<"$notes"; then
  pass "NOTES warn that an unauthenticated ext_authz port hands out tokens"
else
  fail "NOTES do not warn that an unauthenticated ext_authz port hands out tokens"
fi

echo "== values that must be refused"
# must_fail NAME FRAGMENT ARGS...: helm template with the base values and ARGS fails, and its
# error output contains FRAGMENT (the message that tells the user what to fix).
base=(--set keyring.existingSecret=tb-keyring --set auth.allowUnauthenticated=true)
pg=(--set store.mode=postgres --set store.postgres.dsnSecret.name=tb-db)
must_fail() {
  local name="$1" fragment="$2"; shift 2
  if "$HELM" template tb "$chart" "$@" >"$out/neg.out" 2>"$out/neg.err"; then
    fail "$name: rendered, but must be refused"
  elif grep -qF -- "$fragment" "$out/neg.err"; then
    pass "$name"
  else
    fail "$name: refused without '$fragment':"; sed 's/^/        /' "$out/neg.err"
  fi
}
must_fail "postgres with 1 replica and no HPA" "/replicaCount" "${base[@]}" "${pg[@]}" --set replicaCount=1
must_fail "unknown top-level key" "replicas" "${base[@]}" --set replicas=3
must_fail "unknown nested key" "dsnSecretName" "${base[@]}" "${pg[@]}" --set store.postgres.dsnSecretName=x
must_fail "replicaCount of the wrong type" "/replicaCount" "${base[@]}" --set-string replicaCount=two
must_fail "boolean of the wrong type" "/tls/enabled" "${base[@]}" --set-string tls.enabled=yes
must_fail "bad image pullPolicy" "/image/pullPolicy" "${base[@]}" --set image.pullPolicy=Sometimes
must_fail "missing keyring Secret name" "/keyring/existingSecret" --set auth.allowUnauthenticated=true
must_fail "store mode not in the enum" "/store/mode" "${base[@]}" --set store.mode=mysql
must_fail "postgres without the DSN Secret" "/store/postgres/dsnSecret/name" "${base[@]}" --set store.mode=postgres
must_fail "unauthenticated non-loopback without opt-in" "no caller authentication" \
  --set keyring.existingSecret=tb-keyring
must_fail "TLS without its Secret" "/tls/existingSecret" "${base[@]}" --set tls.enabled=true
must_fail "mutual TLS without TLS" "/tls/enabled" "${base[@]}" --set tls.clientCA.enabled=true
must_fail "existing and inline policy together" "exclusive" "${base[@]}" \
  --set policy.existingConfigMap=p --set policy.inline.version=1
must_fail "termination grace not above the drain time" "terminationGracePeriodSeconds (25) must exceed" \
  "${base[@]}" --set terminationGracePeriodSeconds=25
must_fail "HPA in SQLite mode" "/autoscaling/enabled" "${base[@]}" --set autoscaling.enabled=true
must_fail "NetworkPolicy admitting nobody" "networkPolicy.grpcFrom is empty" "${base[@]}" \
  --set networkPolicy.enabled=true
must_fail "bad log level" "/server/logLevel" "${base[@]}" --set server.logLevel=verbose
must_fail "bad ServiceMonitor interval" "/metrics/serviceMonitor/interval" "${base[@]}" \
  --set metrics.serviceMonitor.interval=30x
must_fail "port out of range" "/server/grpcPort" "${base[@]}" --set server.grpcPort=70000
must_fail "plain-http IMS URL" "/ims/url" "${base[@]}" --set ims.url=http://ims.example
must_fail "Kubernetes older than 1.30" "kubeVersion" "${base[@]}" --kube-version 1.29.0
ext=(--set extAuthz.enabled=true)
must_fail "ext_authz on the gRPC port" "extAuthz.port (50051) must differ" "${base[@]}" "${ext[@]}" \
  --set extAuthz.port=50051
must_fail "ext_authz on the metrics Service port" "extAuthz.servicePort (9090) must differ" "${base[@]}" \
  "${ext[@]}" --set extAuthz.servicePort=9090
must_fail "ext_authz port out of range" "/extAuthz/port" "${base[@]}" "${ext[@]}" --set extAuthz.port=0
must_fail "existing and inline routes together" "exclusive" "${base[@]}" "${ext[@]}" \
  --set extAuthz.routes.existingConfigMap=r --set 'extAuthz.routes.inline[0].host=a.adobe.io' \
  --set 'extAuthz.routes.inline[0].integration=i'
must_fail "a route without its integration" "integration" "${base[@]}" "${ext[@]}" \
  --set 'extAuthz.routes.inline[0].host=a.adobe.io'
must_fail "a route with a bad host pattern" "/extAuthz/routes/inline/0/host" "${base[@]}" "${ext[@]}" \
  --set 'extAuthz.routes.inline[0].host=*adobe.io' --set 'extAuthz.routes.inline[0].integration=i'
must_fail "a route with a relative path prefix" "/extAuthz/routes/inline/0/path_prefix" "${base[@]}" \
  "${ext[@]}" --set 'extAuthz.routes.inline[0].host=a.adobe.io' \
  --set 'extAuthz.routes.inline[0].integration=i' --set 'extAuthz.routes.inline[0].path_prefix=v1'
must_fail "NetworkPolicy admitting no proxy to ext_authz" "networkPolicy.extAuthzFrom is empty" \
  "${base[@]}" "${ext[@]}" --set networkPolicy.enabled=true \
  --set 'networkPolicy.grpcFrom[0].namespaceSelector.matchLabels.a=b'
must_fail "the local HTTP endpoint through extraArgs" "does not run the local HTTP token endpoint" \
  "${base[@]}" --set 'server.extraArgs[0]=--http-listen=127.0.0.1:8080'
if "$HELM" lint --strict "$chart" "${base[@]}" --set store.mode=mysql >"$out/neg.out" 2>&1; then
  fail "helm lint --strict accepts a bad store mode"
else
  pass "helm lint --strict refuses a bad store mode"
fi

echo "== the validator rejects bad manifests"
# must_reject NAME FRAGMENT: kubevalidate fails on standard input, saying FRAGMENT.
must_reject() {
  if "$KUBEVALIDATE" - >"$out/kv.out" 2>&1; then
    fail "kubevalidate accepted: $1"
  elif grep -qF -- "$2" "$out/kv.out"; then
    pass "kubevalidate rejects $1"
  else
    fail "kubevalidate rejected $1 without '$2':"; sed 's/^/        /' "$out/kv.out"
  fi
}
must_reject "an unknown field" 'unknown field "spec.replica"' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  replica: 2
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}
EOF
must_reject "a duplicate field" 'already set' <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata: {name: x}
automountServiceAccountToken: false
automountServiceAccountToken: true
EOF
must_reject "an unknown kind" 'no kind "Deploymnt"' <<'EOF'
apiVersion: apps/v1
kind: Deploymnt
metadata: {name: x}
EOF
must_reject "a removed API version" 'policy/v1beta1' <<'EOF'
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: x}
spec: {maxUnavailable: 1, selector: {matchLabels: {a: b}}}
EOF
must_reject "a selector that misses its pods" 'does not match' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: c}}, spec: {containers: [{name: c, image: i}]}}
EOF
must_reject "a mount of a missing volume" 'volumeMounts[0].name: Not found' <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: x}
spec: {containers: [{name: c, image: i, volumeMounts: [{name: nope, mountPath: /x}]}]}
EOF
must_reject "an unknown ServiceMonitor field" 'unknown field "port"' <<'EOF'
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: x}
spec: {port: metrics, endpoints: [{port: metrics}], selector: {}}
EOF
must_reject "an unknown Istio field" 'unknown field "nam"' <<'EOF'
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: x}
spec: {action: CUSTOM, provider: {nam: tokenbroker}}
EOF
must_reject "an Istio enum value that does not exist" 'invalid value for enum' <<'EOF'
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: x}
spec: {host: a.adobe.io, trafficPolicy: {tls: {mode: ORIGINATE}}}
EOF
must_reject "an Istio kind it does not know" 'not known to kubevalidate' <<'EOF'
apiVersion: networking.istio.io/v1
kind: Sidecars
metadata: {name: x}
spec: {}
EOF
printf 'meshConfig:\n  extensionProviders:\n    - name: t\n      envoyExtAuthzGrpc: {service: s, port: 1, failopen: false}\n' \
  >"$out/bad-mesh.yaml"
if "$KUBEVALIDATE" -meshconfig "$out/bad-mesh.yaml" /dev/null >"$out/kv.out" 2>&1; then
  fail "kubevalidate accepted a misspelt meshConfig field"
elif grep -qF 'unknown field "failopen"' "$out/kv.out"; then
  pass "kubevalidate rejects a misspelt meshConfig field"
else
  fail "kubevalidate rejected the meshConfig without naming the field:"; sed 's/^/        /' "$out/kv.out"
fi

echo "== the Istio example: Istio's own API types, and its pieces agree"
if "$KUBEVALIDATE" -json "$out/istio.json" -meshconfig "$example/istiod-values.yaml" \
    -meshconfig-json "$out/mesh.json" "$example/egress.yaml" "$example/ext-authz.yaml" \
    >"$out/istio.kv" 2>&1; then
  pass "Istio objects and meshConfig of the example: $(cat "$out/istio.kv")"
else
  fail "Istio objects and meshConfig of the example"; sed 's/^/        /' "$out/istio.kv"
fi
if [[ -f "$out/example-istio-egress.json" && -f "$out/mesh.json" ]] &&
    python3 "$here/check_istio_example.py" "$out/example-istio-egress.json" "$out/istio.json" \
      "$out/mesh.json" >"$out/istio-example.log" 2>&1; then
  pass "$(tail -n 1 "$out/istio-example.log") (each listed with TEST_VERBOSE=1)"
  if [[ "${TEST_VERBOSE:-}" == 1 ]]; then grep '^  ok' "$out/istio-example.log"; fi
else
  fail "the Istio example's pieces disagree"
  if [[ -f "$out/istio-example.log" ]]; then grep -E '^  FAIL|Error|line' "$out/istio-example.log" | sed 's/^/      /'; fi
fi

# 6. The chart and the server agree: the real binaries accept every flag the rendered
#    containers, probes, the migrations Job and the helm test pod pass them.
echo "== the server accepts every flag the chart passes"
bin_dir="${TOKENBROKER_BIN_DIR:-$root/build/bin}"
if [[ ! -x "$bin_dir/tokenbroker" || ! -x "$bin_dir/tokenctl" ]]; then
  fail "no tokenbroker/tokenctl in $bin_dir (run make build, or set TOKENBROKER_BIN_DIR)"
else
  jsons=()
  for c in "${rendered[@]}"; do jsons+=("$out/$c.json"); done
  if python3 "$here/check_server_flags.py" "$bin_dir" "${jsons[@]}" >"$out/flags.log" 2>&1; then
    pass "$(tail -n 1 "$out/flags.log")"
  else
    fail "the server refuses flags the chart passes"; sed 's/^/        /' "$out/flags.log"
  fi
  # ... and the check itself catches a flag the server does not know.
  cat >"$out/bad-flag.json" <<'EOF'
[{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
  "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i",
    "args": ["--listen=127.0.0.1:0", "--no-such-flag=1"]}]}}}}]
EOF
  if python3 "$here/check_server_flags.py" "$bin_dir" "$out/bad-flag.json" >"$out/bad-flag.log" 2>&1; then
    fail "check_server_flags.py accepted --no-such-flag"
  else
    pass "check_server_flags.py refuses a flag the server does not know"
  fi
fi

echo "chart tests: $((SECONDS - start))s"
echo "$passed passed, $failed failed"
[[ "$failed" == 0 ]]
