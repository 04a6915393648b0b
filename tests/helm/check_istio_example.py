#!/usr/bin/env python3
"""The pieces of the Istio example (helm/examples/istio-egress) agree with each other and with
the chart.

Usage: check_istio_example.py RENDERED.json ISTIO.json MESH.json
  RENDERED.json  the chart rendered with the example's tokenbroker-values.yaml (kubevalidate -json)
  ISTIO.json     the example's Istio objects (kubevalidate -json of egress.yaml, ext-authz.yaml)
  MESH.json      the meshConfig of istiod-values.yaml (kubevalidate -meshconfig-json)

kubevalidate has already decoded each Istio object strictly into istio.io/api's types; this
checks what no schema can: that the extension provider points at the rendered Service's
ext_authz port, that the AuthorizationPolicy names that provider and selects the gateway the
Gateway uses, that every routed host goes through the gateway with TLS origination and has a
route in tokenbroker's table, and that the policy binds the gateway as proxy. Standard library
only. Prints "ok"/"FAIL" per check and "istio example: N passed, M failed"; exit 1 on failure.
"""
import fnmatch
import json
import sys

GATEWAY_SA = "spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway-service-account"
GATEWAY_LABELS = {"istio": "egressgateway"}
GATEWAY_SERVICE = "istio-egressgateway.istio-system.svc.cluster.local"

passed = failed = 0


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"  ok    {what}")
    else:
        failed += 1
        print(f"  FAIL  {what}{': ' + json.dumps(detail) if detail != '' else ''}")


def of_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def host_matches(pattern, host):
    """The route table's host rule: exact, or "*.DOMAIN" for any subdomain of DOMAIN."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def main():
    rendered, istio, mesh = (json.load(open(p)) for p in sys.argv[1:4])

    # --- tokenbroker as rendered -----------------------------------------------------------------
    svc = of_kind(rendered, "Service")[0]
    ns = svc["metadata"]["namespace"]
    fqdn = f"{svc['metadata']['name']}.{ns}.svc.cluster.local"
    ext_port = next((p["port"] for p in svc["spec"]["ports"] if p["name"] == "grpc-ext-authz"), None)
    check("the chart renders the ext_authz Service port", ext_port is not None, svc["spec"]["ports"])
    cms = {o["metadata"]["name"]: o for o in of_kind(rendered, "ConfigMap")}
    routes = json.loads(next(iter(cms[f"{svc['metadata']['name']}-ext-authz-routes"]["data"].values())))
    policy = json.loads(next(iter(cms[f"{svc['metadata']['name']}-policy"]["data"].values())))
    workload = (of_kind(rendered, "Deployment") + of_kind(rendered, "StatefulSet"))[0]
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    check("tokenbroker's pods stay out of the mesh (it must see the gateway's client certificate)",
          pod_labels.get("sidecar.istio.io/inject") == "false", pod_labels)
    args = workload["spec"]["template"]["spec"]["containers"][0]["args"]
    check("tokenbroker checks client certificates (mutual TLS)", any(a.startswith("--client-ca-file=") for a in args))

    # --- meshConfig extension provider -------------------------------------------------------------
    providers = {p["name"]: p for p in mesh.get("extensionProviders", [])}
    grpc = {n: p["envoyExtAuthzGrpc"] for n, p in providers.items() if "envoyExtAuthzGrpc" in p}
    check("meshConfig has one envoyExtAuthzGrpc provider", len(grpc) == 1, list(providers))
    name, prov = next(iter(grpc.items()), (None, {}))
    check("the provider points at the rendered Service and its grpc-ext-authz port",
          prov.get("service") == fqdn and prov.get("port") == ext_port, (prov, fqdn, ext_port))
    check("the provider fails closed (failOpen false) with a status on error",
          prov.get("failOpen") is False and prov.get("statusOnError", "").isdigit(), prov)
    check("the provider has a timeout", bool(prov.get("timeout")), prov)

    # --- the AuthorizationPolicy -------------------------------------------------------------------
    aps = of_kind(istio, "AuthorizationPolicy")
    ap = aps[0]["spec"] if len(aps) == 1 else {}
    check("one AuthorizationPolicy, action CUSTOM, naming the provider",
          ap.get("action") == "CUSTOM" and ap.get("provider", {}).get("name") == name, ap)
    check("it selects the egress gateway, in the gateway's namespace",
          ap.get("selector", {}).get("matchLabels") == GATEWAY_LABELS
          and aps[0]["metadata"].get("namespace") == "istio-system", aps[0]["metadata"] if aps else None)
    ap_hosts = {h for r in ap.get("rules", []) for t in r.get("to", []) for h in t["operation"].get("hosts", [])}

    # --- egress: ServiceEntry, Gateway, VirtualService, DestinationRules ---------------------------
    se = of_kind(istio, "ServiceEntry")[0]["spec"]
    hosts = set(se["hosts"])
    check("ServiceEntry: external hosts with ports 80 (HTTP) and 443 (HTTPS), DNS resolution",
          se.get("location") == "MESH_EXTERNAL" and se.get("resolution") == "DNS"
          and {(p["number"], p["protocol"]) for p in se["ports"]} == {(80, "HTTP"), (443, "HTTPS")}, se)
    check("the AuthorizationPolicy covers exactly the ServiceEntry's hosts", ap_hosts == hosts, (ap_hosts, hosts))
    gw = of_kind(istio, "Gateway")[0]
    servers = gw["spec"]["servers"]
    check("Gateway: the egress gateway takes Istio mutual TLS for every host",
          gw["spec"]["selector"] == GATEWAY_LABELS and all(s["tls"]["mode"] == "ISTIO_MUTUAL" for s in servers)
          and {h for s in servers for h in s["hosts"]} == hosts, gw["spec"])
    vs = of_kind(istio, "VirtualService")[0]["spec"]
    drs = {d["spec"]["host"]: d for d in of_kind(istio, "DestinationRule")}
    gw_subsets = {s["name"]: s for s in drs.get(GATEWAY_SERVICE, {}).get("spec", {}).get("subsets", [])}
    for host in sorted(hosts):
        to_gateway = [r for r in vs["http"] for m in r["match"]
                      if m.get("gateways") == ["mesh"] and m.get("authority", {}).get("exact") == host]
        dest = to_gateway[0]["route"][0]["destination"] if to_gateway else {}
        subset = gw_subsets.get(dest.get("subset"), {})
        tls = subset.get("trafficPolicy", {}).get("portLevelSettings", [{}])[0].get("tls", {})
        check(f"{host}: sidecars send it to the egress gateway over Istio mutual TLS",
              dest.get("host") == GATEWAY_SERVICE and tls.get("mode") == "ISTIO_MUTUAL"
              and tls.get("sni") == host, (dest, tls))
        out = [r for r in vs["http"] for m in r["match"]
               if m.get("gateways") == [gw["metadata"]["name"]] and m.get("authority", {}).get("exact") == host]
        dest = out[0]["route"][0]["destination"] if out else {}
        check(f"{host}: the gateway sends it to {host}:443",
              dest.get("host") == host and dest.get("port", {}).get("number") == 443, dest)
        origin = drs.get(host, {}).get("spec", {}).get("trafficPolicy", {}).get("portLevelSettings", [])
        tls = next((p["tls"] for p in origin if p["port"]["number"] == 443), {})
        check(f"{host}: the gateway originates TLS (SIMPLE, SNI {host}), so it can add headers",
              tls.get("mode") == "SIMPLE" and tls.get("sni") == host, origin)
        matching = [r for r in routes if host_matches(r["host"], host)]
        check(f"{host}: tokenbroker's route table has a route for it", bool(matching), routes)
        for r in matching:
            readers = [b for b in policy["bindings"] if b["role"] == "reader"
                       and any(fnmatch.fnmatchcase(r["integration"], g) for g in b.get("integrations", []))]
            check(f"{host}: some workload identity may read integration {r['integration']}", bool(readers))

    # --- the gateway -> tokenbroker hop --------------------------------------------------------------
    hop = drs.get(fqdn, {})
    settings = hop.get("spec", {}).get("trafficPolicy", {}).get("portLevelSettings", [])
    tls = next((p["tls"] for p in settings if p["port"]["number"] == ext_port), {})
    check("gateway -> tokenbroker: mutual TLS with a client certificate Secret, on the ext_authz port",
          tls.get("mode") == "MUTUAL" and bool(tls.get("credentialName")), settings)
    check("that DestinationRule applies to istio-system's proxies only",
          hop.get("metadata", {}).get("namespace") == "istio-system" and hop["spec"].get("exportTo") == ["."],
          hop.get("metadata"))
    check("the policy binds the gateway's identity as proxy", any(
        b["identity"] == GATEWAY_SA and b["role"] == "proxy" for b in policy["bindings"]), policy["bindings"])

    print(f"istio example: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
