#!/usr/bin/env python3
"""Assertions on the chart's rendered objects, one group of checks per case.

Usage: assert_rendered.py DIR CASE...   (DIR/CASE.json: the objects kubevalidate -json wrote)

Standard library only (the objects arrive as JSON). Each check prints "ok" or "FAIL" with the
case and what was checked; the last line is "assertions: N passed, M failed". Exit 1 on any
failure. EXPECT below states, per case of tests/helm/cases/, what the values ask for.
"""
import json
import re
import sys

NS = "default"  # helm template's namespace (test.sh), unless a case says otherwise
RELEASE = "tb"

# What each case's values ask for; keys absent here take the defaults of DEFAULT.
DEFAULT = dict(
    mode="sqlite", fullname="tb-tokenbroker", replicas=2, hpa=False, tls=False, mtls=False,
    policy=None, policy_cm=None, inline_policy=False, keyring=("tb-keyring", "keyring.json"),
    dsn=None, migrations=True, unauthenticated=False, netpol=False, servicemonitor=False,
    pdb=True, tests=True, tls_secret=None, ca=None, client_ca=None, anti_affinity="soft",
    spread=True, audit=False, audit_key=None, ims_ca=None, sa="tb-tokenbroker", sa_created=True,
    image="ghcr.io/tokenbroker/tokenbroker:0.1.0", ns=NS, release=RELEASE,
    # The ext_authz port: None (off) or dict(port, service_port, routes_cm=(ConfigMap, key) or
    # None, inline_routes=[...] or None, proxies=the NetworkPolicy peers or None).
    ext_authz=None,
)
ISTIO_GATEWAY_PEERS = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
                        "podSelector": {"matchLabels": {"istio": "egressgateway"}}}]
EXPECT = {
    "sqlite-unauthenticated": dict(unauthenticated=True),
    "sqlite-policy-inline": dict(keyring=("tb-keyring", "ring.json"), inline_policy=True,
                                 policy_cm=("tb-tokenbroker-policy", "policy.json"), tests=False,
                                 pvc=("5Gi", "fast-ssd", ["ReadWriteOncePod"])),
    "sqlite-mtls": dict(tls=True, mtls=True, tls_secret="tb-server-tls",
                        ca=("tb-server-tls", "ca.crt"), client_ca=("tb-server-tls", "ca.crt")),
    "postgres-policy-existing": dict(mode="postgres", dsn=("tb-db", "uri"),
                                     policy_cm=("tb-policy", "callers.json")),
    "postgres-tls-policy": dict(mode="postgres", dsn=("tb-db", "dsn"), replicas=3, tls=True,
                                tls_secret="tb-server-tls", ca=("tb-ca", "bundle.pem"),
                                inline_policy=True, policy_cm=("tb-tokenbroker-policy", "policy.json"),
                                anti_affinity="hard"),
    "postgres-mtls-hpa": dict(mode="postgres", dsn=("tb-db", "dsn"), hpa=(3, 10, 60, 80),
                              tls=True, mtls=True, tls_secret="tb-server-tls",
                              ca=("tb-server-tls", "ca.crt"), client_ca=("tb-client-ca", "clients.pem")),
    "postgres-full": dict(mode="postgres", fullname="broker", dsn=("tb-db", "dsn"), migrations=False,
                          unauthenticated=True, netpol=True, servicemonitor=True, audit=True,
                          audit_key="tb-audit-key", ims_ca="egress-proxy-ca", anti_affinity="none",
                          spread=False, sa="tokenbroker-sa", sa_created=False,
                          image="registry.example.org/mirror/tokenbroker:1.2.3"),
    "postgres-ext-authz": dict(mode="postgres", dsn=("tb-db", "dsn"), tls=True, mtls=True,
                               tls_secret="tb-server-tls", ca=("tb-server-tls", "ca.crt"),
                               client_ca=("tb-server-tls", "ca.crt"), inline_policy=True,
                               policy_cm=("tb-tokenbroker-policy", "policy.json"), netpol=True,
                               ext_authz=dict(port=50052, service_port=50052,
                                              routes_cm=("tb-tokenbroker-ext-authz-routes", "routes.json"),
                                              inline_routes=[
                                                  {"host": "*.adobe.io", "path_prefix": "/", "integration": "adobe-prod"},
                                                  {"host": "analytics.adobe.io", "path_prefix": "/api/",
                                                   "integration": "adobe-analytics"},
                                                  {"host": "*", "integration": "adobe-default"}],
                                              proxies=ISTIO_GATEWAY_PEERS)),
    "sqlite-ext-authz-routes-existing": dict(tls=True, tls_secret="tb-server-tls", ca=("tb-server-tls", "ca.crt"),
                                             policy_cm=("tb-policy", "policy.json"),
                                             ext_authz=dict(port=9443, service_port=443,
                                                            routes_cm=("tb-routes", "table.json"),
                                                            inline_routes=None, proxies=None)),
    # helm/examples/istio-egress/tokenbroker-values.yaml, installed as the README says.
    "example-istio-egress": dict(ns="tokenbroker", release="tokenbroker", fullname="tokenbroker",
                                 sa="tokenbroker", keyring=("tokenbroker-keyring", "keyring.json"),
                                 tls=True, mtls=True, tls_secret="tokenbroker-tls",
                                 ca=("tokenbroker-tls", "ca.crt"), client_ca=("tokenbroker-tls", "ca.crt"),
                                 inline_policy=True, policy_cm=("tokenbroker-policy", "policy.json"),
                                 netpol=True,
                                 ext_authz=dict(port=50052, service_port=50052,
                                                routes_cm=("tokenbroker-ext-authz-routes", "routes.json"),
                                                inline_routes=[{"host": "*.adobe.io", "path_prefix": "/",
                                                                "integration": "adobe-prod"}],
                                                proxies=ISTIO_GATEWAY_PEERS)),
}

passed = failed = 0


def check(case, what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"  ok    {case}: {what}")
    else:
        failed += 1
        print(f"  FAIL  {case}: {what}{': ' + str(detail) if detail else ''}")


def of_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def one(objs, kind):
    found = of_kind(objs, kind)
    return found[0] if len(found) == 1 else None


def flag(args, name):
    """Value of --name=VALUE in args, True for a bare --name, None when absent."""
    for a in args:
        if a == f"--{name}":
            return True
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return None


def volume(pod, name):
    return next((v for v in pod.get("volumes", []) if v["name"] == name), None)


def mount(container, path):
    return next((m for m in container.get("volumeMounts", []) if m["mountPath"] == path), None)


def file_of(pod, container, path):
    """(volume, item key) behind the file at path in container, or (None, None)."""
    directory, base = path.rsplit("/", 1)
    m = mount(container, directory)
    if not m:
        return None, None
    v = volume(pod, m["name"])
    if v is None:
        return None, None
    source = v.get("secret") or v.get("configMap") or {}
    item = next((i for i in source.get("items", []) if i["path"] == base), None)
    return v, item["key"] if item else None


def secret_file(pod, container, path):
    v, key = file_of(pod, container, path)
    return (v["secret"]["secretName"], key) if v and "secret" in v else None


def configmap_file(pod, container, path):
    v, key = file_of(pod, container, path)
    return (v["configMap"]["name"], key) if v and "configMap" in v else None


def check_security(case, what, pod):
    psc = pod.get("securityContext", {})
    check(case, f"{what}: pod runs as non-root uid 10001 with RuntimeDefault seccomp",
          psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 10001
          and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", psc)
    check(case, f"{what}: no service account token", pod.get("automountServiceAccountToken") is False)
    for c in pod["containers"]:
        sc = c.get("securityContext", {})
        check(case, f"{what}/{c['name']}: read-only root, no escalation, drop ALL, non-root",
              sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
              and sc.get("capabilities", {}).get("drop") == ["ALL"] and sc.get("runAsNonRoot") is True
              and sc.get("runAsUser") == 10001 and not sc.get("privileged"), sc)
        check(case, f"{what}/{c['name']}: resources set",
              bool(c.get("resources", {}).get("requests")) and bool(c.get("resources", {}).get("limits")))


def check_ext_authz(case, e, objs, pod, c, sports, annotations):
    """The ext_authz edge port: flags, container and Service ports, route table, probes."""
    args = c["args"]
    x = e["ext_authz"]
    cports = {p["name"]: p for p in c["ports"]}
    if not x:
        check(case, "no ext_authz flags, container port or Service port",
              flag(args, "ext-authz-listen") is None and flag(args, "ext-authz-routes") is None
              and "grpc-ext-authz" not in cports and "grpc-ext-authz" not in sports, (args, sports))
        return
    check(case, f"--ext-authz-listen on all addresses, port {x['port']}",
          flag(args, "ext-authz-listen") == f"0.0.0.0:{x['port']}", flag(args, "ext-authz-listen"))
    check(case, "container port grpc-ext-authz", cports.get("grpc-ext-authz", {}).get("containerPort") == x["port"]
          and cports["grpc-ext-authz"].get("protocol") == "TCP", cports)
    sp = sports.get("grpc-ext-authz", {})
    check(case, "Service port grpc-ext-authz (appProtocol grpc, so Istio speaks gRPC to it)",
          sp.get("port") == x["service_port"] and sp.get("targetPort") == "grpc-ext-authz"
          and sp.get("appProtocol") == "grpc" and sp.get("protocol") == "TCP", sp)
    check(case, "the gRPC API keeps its own port", flag(args, "listen") == "0.0.0.0:50051"
          and sports.get("grpc", {}).get("port") == 50051)
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        check(case, f"{probe}: unchanged, not on the ext_authz port",
              "grpc-ext-authz" not in json.dumps(c[probe]) and str(x["port"]) not in json.dumps(c[probe]), c[probe])
    routes_file = flag(args, "ext-authz-routes")
    check(case, "--ext-authz-routes from the routes ConfigMap, mounted as a directory",
          configmap_file(pod, c, routes_file or "/x") == x["routes_cm"]
          and "subPath" not in (mount(c, (routes_file or "/x").rsplit("/", 1)[0]) or {"subPath": 1}),
          (routes_file, configmap_file(pod, c, routes_file or "/x")))
    cms = {o["metadata"]["name"]: o for o in of_kind(objs, "ConfigMap")}
    if x["inline_routes"]:
        name, key = x["routes_cm"]
        body = json.loads(cms.get(name, {}).get("data", {}).get(key, "null"))
        check(case, "route table ConfigMap holds the routes as a JSON list", body == x["inline_routes"], body)
        check(case, "checksum/ext-authz-routes annotation",
              bool(re.fullmatch(r"[0-9a-f]{64}", annotations.get("checksum/ext-authz-routes", ""))), annotations)
    else:
        check(case, "no route table ConfigMap rendered, no checksum annotation",
              x["routes_cm"][0] not in cms and "checksum/ext-authz-routes" not in annotations)


def check_case(case, objs):
    e = dict(DEFAULT, **EXPECT[case])
    kinds = sorted(o["kind"] for o in objs)
    postgres = e["mode"] == "postgres"
    fullname = e["fullname"]

    # --- objects present and absent ----------------------------------------------------------
    check(case, "no Secret rendered (secrets are references only)", "Secret" not in kinds, kinds)
    want = {"Service": 1, "Deployment": int(postgres), "StatefulSet": int(not postgres),
            "Job": int(postgres and e["migrations"]), "PodDisruptionBudget": int(postgres and e["pdb"]),
            "HorizontalPodAutoscaler": int(bool(e["hpa"])), "NetworkPolicy": int(e["netpol"]),
            "ServiceMonitor": int(e["servicemonitor"]), "Pod": int(e["tests"]),
            "ServiceAccount": int(e["sa_created"]),
            "ConfigMap": int(e["inline_policy"]) + int(bool(e["ext_authz"] and e["ext_authz"]["inline_routes"]))}
    for kind, n in want.items():
        check(case, f"{n} {kind}", kinds.count(kind) == n, kinds)
    for o in objs:
        labels = o["metadata"].get("labels", {})
        check(case, f"{o['kind']}/{o['metadata']['name']}: standard labels",
              labels.get("helm.sh/chart", "").startswith("tokenbroker-")
              and labels.get("app.kubernetes.io/instance") == e["release"]
              and labels.get("app.kubernetes.io/managed-by") == "Helm"
              and "app.kubernetes.io/name" in labels and "app.kubernetes.io/version" in labels, labels)
        check(case, f"{o['kind']}/{o['metadata']['name']}: in the release namespace",
              o["metadata"].get("namespace") == e["ns"])

    workload = one(objs, "Deployment" if postgres else "StatefulSet")
    if workload is None:
        check(case, "one workload", False)
        return
    spec = workload["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    c = next(c for c in pod["containers"] if c["name"] == "tokenbroker")
    args = c["args"]
    check(case, "workload name", workload["metadata"]["name"] == fullname, workload["metadata"]["name"])
    check(case, "image", c["image"] == e["image"], c["image"])

    # --- replicas and mode --------------------------------------------------------------------
    if postgres:
        if e["hpa"]:
            check(case, "no replicas while the HPA owns them", "replicas" not in spec, spec.get("replicas"))
        else:
            check(case, f"replicas {e['replicas']}", spec.get("replicas") == e["replicas"], spec.get("replicas"))
        check(case, "rolling update surges, never goes below", spec["strategy"]["rollingUpdate"] ==
              {"maxSurge": 1, "maxUnavailable": 0}, spec.get("strategy"))
        check(case, "postgres store flags", flag(args, "store") == "postgres"
              and secret_file(pod, c, flag(args, "store-dsn-file") or "/x") == e["dsn"],
              (flag(args, "store-dsn-file"), secret_file(pod, c, flag(args, "store-dsn-file") or "/x")))
        check(case, "no /data volume", mount(c, "/data") is None)
    else:
        check(case, "StatefulSet of exactly 1 replica", spec.get("replicas") == 1, spec.get("replicas"))
        check(case, "sqlite store on /data", flag(args, "store") == "sqlite:/data/tokenbroker.db")
        claims = spec.get("volumeClaimTemplates", [])
        check(case, "volumeClaimTemplate data mounted at /data",
              len(claims) == 1 and claims[0]["metadata"]["name"] == "data"
              and (mount(c, "/data") or {}).get("name") == "data", claims)
        if "pvc" in e:
            size, sc, modes = e["pvc"]
            cs = claims[0]["spec"]
            check(case, "claim size, class and access modes",
                  cs["resources"]["requests"]["storage"] == size and cs.get("storageClassName") == sc
                  and cs["accessModes"] == modes, cs)
        check(case, "no store-dsn-file", flag(args, "store-dsn-file") is None)

    # --- secrets are references ---------------------------------------------------------------
    check(case, "keyring file from the keyring Secret", secret_file(pod, c, flag(args, "kek-file") or "/x")
          == e["keyring"], secret_file(pod, c, flag(args, "kek-file") or "/x"))
    keyring_mount = mount(c, "/etc/tokenbroker/keyring")
    check(case, "keyring mounted as a directory (updates arrive), read-only",
          keyring_mount and "subPath" not in keyring_mount and keyring_mount.get("readOnly") is True)
    check(case, "no subPath mounts", all("subPath" not in m for m in c.get("volumeMounts", [])))
    for v in pod["volumes"]:
        if "secret" in v:
            check(case, f"volume {v['name']}: names a Secret", bool(v["secret"].get("secretName")))
    for env in c.get("env", []):
        check(case, f"env {env['name']}: no secret value", not re.search(
            r"postgres(ql)?://|BEGIN .*PRIVATE KEY|\"kek", str(env.get("value", ""))))
    check(case, "/tmp is an emptyDir", (volume(pod, (mount(c, "/tmp") or {}).get("name", "")) or {})
          .get("emptyDir") is not None)

    # --- identity, security, shutdown -----------------------------------------------------------
    check(case, "replica id from the pod name", any(
        env["name"] == "TOKENBROKER_REPLICA_ID" and env["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        for env in c.get("env", []) if "valueFrom" in env))
    check(case, "service account", pod.get("serviceAccountName") == e["sa"], pod.get("serviceAccountName"))
    check(case, "no service links (TOKENBROKER_* env is flags)", pod.get("enableServiceLinks") is False)
    check_security(case, "server pod", pod)
    grace = int(flag(args, "shutdown-grace").rstrip("s"))
    sleep = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    check(case, "terminationGracePeriodSeconds > preStop sleep + shutdown grace",
          pod["terminationGracePeriodSeconds"] > grace + sleep, (pod["terminationGracePeriodSeconds"], grace, sleep))
    check(case, "listens on all addresses, metrics too", flag(args, "listen") == "0.0.0.0:50051"
          and flag(args, "metrics-listen") == "0.0.0.0:9090")

    # --- probes ---------------------------------------------------------------------------------
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    if not e["tls"]:
        for probe, service in (("startupProbe", "liveness"), ("livenessProbe", "liveness"),
                               ("readinessProbe", "readiness")):
            check(case, f"{probe}: native gRPC, service {service!r}",
                  c[probe].get("grpc") == {"port": ports["grpc"], "service": service}, c[probe])
    else:
        cmd = c["readinessProbe"].get("exec", {}).get("command", [])
        check(case, "readinessProbe: tokenctl health over TLS with the CA",
              cmd[:1] == ["/usr/local/bin/tokenctl"] and cmd[-1] == "health"
              and secret_file(pod, c, flag(cmd, "ca-file") or "/x") == e["ca"], cmd)
        check(case, "readinessProbe: client certificate exactly under mutual TLS",
              (flag(cmd, "cert") is not None) == e["mtls"], cmd)
        check(case, "readinessProbe: no --plaintext with TLS", flag(cmd, "plaintext") is None, cmd)
        for probe in ("startupProbe", "livenessProbe"):
            check(case, f"{probe}: TCP connect to grpc", c[probe].get("tcpSocket") == {"port": "grpc"}, c[probe])

    # --- TLS, auth, policy ------------------------------------------------------------------------
    if e["tls"]:
        check(case, "server certificate and key from the TLS Secret",
              secret_file(pod, c, flag(args, "tls-cert") or "/x") == (e["tls_secret"], "tls.crt")
              and secret_file(pod, c, flag(args, "tls-key") or "/x") == (e["tls_secret"], "tls.key"))
    else:
        check(case, "no TLS flags", flag(args, "tls-cert") is None and flag(args, "tls-key") is None)
    if e["mtls"]:
        check(case, "client CA from its Secret", secret_file(pod, c, flag(args, "client-ca-file") or "/x")
              == e["client_ca"], secret_file(pod, c, flag(args, "client-ca-file") or "/x"))
    else:
        check(case, "no client CA", flag(args, "client-ca-file") is None)
    check(case, "--allow-unauthenticated-non-loopback only when opted in",
          (flag(args, "allow-unauthenticated-non-loopback") is True) == e["unauthenticated"])
    annotations = spec["template"]["metadata"].get("annotations", {})
    if e["policy_cm"]:
        check(case, "policy file from the ConfigMap", configmap_file(pod, c, flag(args, "policy-file") or "/x")
              == e["policy_cm"], configmap_file(pod, c, flag(args, "policy-file") or "/x"))
    else:
        check(case, "no policy file", flag(args, "policy-file") is None)
    check(case, "checksum/policy annotation exactly with an inline policy",
          bool(re.fullmatch(r"[0-9a-f]{64}", annotations.get("checksum/policy", ""))) == e["inline_policy"])
    if e["inline_policy"]:
        cm = next(o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"] == e["policy_cm"][0])
        body = json.loads(cm["data"][e["policy_cm"][1]])
        check(case, "inline policy rendered as JSON with its version", body.get("version") == 1, body)

    # --- optional flags ---------------------------------------------------------------------------
    check(case, "audit log to stdout exactly when enabled", (flag(args, "audit-log") == "-") == e["audit"])
    if e["audit_key"]:
        check(case, "audit key from its Secret", secret_file(pod, c, flag(args, "audit-key-file") or "/x")
              == (e["audit_key"], "audit.key"))
    if e["ims_ca"]:
        check(case, "IMS CA bundle from its ConfigMap", configmap_file(pod, c, flag(args, "ims-ca-file") or "/x")
              == (e["ims_ca"], "ca.crt"))

    # --- Service ---------------------------------------------------------------------------------
    svc = one(objs, "Service")
    sports = {p["name"]: p for p in svc["spec"]["ports"]}
    check(case, "Service port grpc (appProtocol grpc) and metrics",
          sports.get("grpc", {}).get("appProtocol") == "grpc" and sports["grpc"]["targetPort"] == "grpc"
          and sports.get("metrics", {}).get("targetPort") == "metrics", sports)
    check(case, "Service selects the server pods",
          all(pod_labels.get(k) == v for k, v in svc["spec"]["selector"].items()), svc["spec"]["selector"])
    check_ext_authz(case, e, objs, pod, c, sports, annotations)
    check(case, "workload selector matches its pods",
          all(pod_labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()))

    # --- availability ------------------------------------------------------------------------------
    pdb = one(objs, "PodDisruptionBudget")
    if pdb:
        check(case, "PDB selects the server pods", pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"])
    hpa = one(objs, "HorizontalPodAutoscaler")
    if e["hpa"]:
        lo, hi, cpu, mem = e["hpa"]
        targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]}
        check(case, "HPA scales the Deployment", hpa["spec"]["scaleTargetRef"] ==
              {"apiVersion": "apps/v1", "kind": "Deployment", "name": fullname})
        check(case, "HPA bounds and targets", (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"], targets)
              == (lo, hi, {"cpu": cpu, "memory": mem}), hpa["spec"])
    affinity = pod.get("affinity", {}).get("podAntiAffinity", {})
    if postgres and e["anti_affinity"] == "soft":
        check(case, "soft anti-affinity by host", bool(affinity.get("preferredDuringSchedulingIgnoredDuringExecution")))
    elif postgres and e["anti_affinity"] == "hard":
        check(case, "hard anti-affinity by host", bool(affinity.get("requiredDuringSchedulingIgnoredDuringExecution")))
    else:
        check(case, "no anti-affinity", not affinity)
    check(case, "zone spread exactly for HA replicas", bool(pod.get("topologySpreadConstraints")) ==
          (postgres and e["spread"]))

    # --- migrations Job hook ----------------------------------------------------------------------
    job = one(objs, "Job")
    if job:
        ann = job["metadata"].get("annotations", {})
        jpod = job["spec"]["template"]["spec"]
        jc = jpod["containers"][0]
        check(case, "Job is a pre-install,pre-upgrade hook", ann.get("helm.sh/hook") == "pre-install,pre-upgrade")
        check(case, "Job runs tokenbroker migrate with the same store",
              jc.get("command") == ["/usr/local/bin/tokenbroker"] and jc["args"][0] == "migrate"
              and flag(jc["args"], "store") == "postgres"
              and secret_file(jpod, jc, flag(jc["args"], "store-dsn-file") or "/x") == e["dsn"]
              and secret_file(jpod, jc, flag(jc["args"], "kek-file") or "/x") == e["keyring"], jc["args"])
        check(case, "Job does not use the not-yet-created ServiceAccount", jpod.get("serviceAccountName") == "default")
        check(case, "Job never restarts in place", jpod.get("restartPolicy") == "Never")
        check_security(case, "migration Job", jpod)

    # --- helm test --------------------------------------------------------------------------------
    test = one(objs, "Pod")
    if test:
        tc = test["spec"]["containers"][0]
        targs = tc["args"]
        check(case, "test pod is a helm test hook", test["metadata"]["annotations"].get("helm.sh/hook") == "test")
        check(case, "test pod runs tokenctl health against the Service",
              tc["command"] == ["/usr/local/bin/tokenctl"] and targs[-1] == "health"
              and flag(targs, "server") == f"{fullname}.{e['ns']}.svc:50051", targs)
        check(case, "test pod speaks TLS exactly when the server does",
              (secret_file(test["spec"], tc, flag(targs, "ca-file") or "/x") == e["ca"]
               and flag(targs, "plaintext") is None) if e["tls"]
              else (flag(targs, "ca-file") is None and flag(targs, "plaintext") is True), targs)
        check(case, "test pod is not selected by the Service",
              not all(test["metadata"]["labels"].get(k) == v for k, v in svc["spec"]["selector"].items()))
        check_security(case, "test pod", test["spec"])

    # --- network policy and monitoring --------------------------------------------------------------
    np = one(objs, "NetworkPolicy")
    if np:
        rules = {tuple(p["port"] for p in r["ports"]): r["from"] for r in np["spec"]["ingress"]}
        want_ports = {("grpc",), ("metrics",)} | ({("grpc-ext-authz",)} if e["ext_authz"] else set())
        check(case, "NetworkPolicy: ingress only to " + ", ".join(sorted(p for (p,) in want_ports)),
              set(rules) == want_ports, rules)
        if e["ext_authz"]:
            check(case, "NetworkPolicy: ext_authz port from exactly the listed proxies (not the test pod)",
                  rules.get(("grpc-ext-authz",)) == e["ext_authz"]["proxies"], rules.get(("grpc-ext-authz",)))
        check(case, "NetworkPolicy: grpc from the listed namespaces and the test pod",
              any("namespaceSelector" in p for p in rules[("grpc",)])
              and any(p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "helm-test"
                      for p in rules[("grpc",)]))
        check(case, "NetworkPolicy: metrics from monitoring", rules[("metrics",)][0]["namespaceSelector"]
              ["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"})
    sm = one(objs, "ServiceMonitor")
    if sm:
        check(case, "ServiceMonitor scrapes the metrics port", sm["spec"]["endpoints"][0]["port"] == "metrics"
              and sm["spec"]["endpoints"][0]["interval"] == "15s")
        check(case, "ServiceMonitor carries the Prometheus selector label",
              sm["metadata"]["labels"].get("release") == "kube-prometheus-stack")
        check(case, "ServiceMonitor selects the Service", all(
            svc["metadata"]["labels"].get(k) == v for k, v in sm["spec"]["selector"]["matchLabels"].items()))
    sa = one(objs, "ServiceAccount")
    if sa:
        check(case, "ServiceAccount mounts no token", sa.get("automountServiceAccountToken") is False)


def main():
    directory, cases = sys.argv[1], sys.argv[2:]
    for case in cases:
        print(f"== assert: {case}")
        with open(f"{directory}/{case}.json") as f:
            check_case(case, json.load(f))
    print(f"assertions: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
