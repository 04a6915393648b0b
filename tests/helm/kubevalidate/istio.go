package main

// Istio resources and mesh configuration, for the chart's Istio example (helm/examples/).
//
// Design note: Istio's CRDs are generated from the protobuf messages of istio.io/api, so the
// spec of an Istio object is decoded here into that message with protojson, which refuses an
// unknown field, a value of the wrong type and an unknown enum name, as the CRD's structural
// schema would. istio.io/api is Istio's own API module (no Kubernetes client machinery), which
// keeps the validator small. What this does NOT check: the rules of istiod's validation
// webhook beyond the schema (e.g. that a VirtualService route's destination exists); the
// example's own cross-checks (tests/helm/check_istio_example.py) cover the ones it relies on.

import (
	"encoding/json"
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networkingv1 "istio.io/api/networking/v1"
	securityv1 "istio.io/api/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// istioSpecs maps "apiVersion/kind" of the Istio kinds the example uses to a new spec message.
// Only the v1 API versions: v1alpha3/v1beta1 still work in Istio but are not what new
// manifests should use.
var istioSpecs = map[string]func() proto.Message{
	"networking.istio.io/v1/ServiceEntry":    func() proto.Message { return &networkingv1.ServiceEntry{} },
	"networking.istio.io/v1/Gateway":         func() proto.Message { return &networkingv1.Gateway{} },
	"networking.istio.io/v1/VirtualService":  func() proto.Message { return &networkingv1.VirtualService{} },
	"networking.istio.io/v1/DestinationRule": func() proto.Message { return &networkingv1.DestinationRule{} },
	"security.istio.io/v1/AuthorizationPolicy": func() proto.Message {
		return &securityv1.AuthorizationPolicy{}
	},
}

func isIstioGroup(group string) bool {
	return group == "networking.istio.io" || group == "security.istio.io"
}

// istioObject is the envelope of an Istio custom resource; its spec is decoded separately.
type istioObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              json.RawMessage `json:"spec"`
}

var strictProto = protojson.UnmarshalOptions{DiscardUnknown: false}

// decodeIstio strictly decodes an Istio object: the envelope with the Kubernetes decoder, the
// spec into its istio.io/api message.
func decodeIstio(apiVersion, kind string, doc []byte) (*istioObject, error) {
	newSpec, ok := istioSpecs[apiVersion+"/"+kind]
	if !ok {
		return nil, fmt.Errorf("kind %q of %s is not known to kubevalidate", kind, apiVersion)
	}
	var obj istioObject
	if err := yaml.UnmarshalStrict(doc, &obj); err != nil {
		return nil, fmt.Errorf("strict decoding: %v", err)
	}
	if len(obj.Spec) == 0 {
		return nil, fmt.Errorf("spec is required")
	}
	if err := strictProto.Unmarshal(obj.Spec, newSpec()); err != nil {
		return nil, fmt.Errorf("spec: %v", err)
	}
	return &obj, nil
}

// checkMeshConfigFile decodes the `meshConfig` key of an istiod Helm values file strictly into
// istio.io/api's MeshConfig. It returns that meshConfig as JSON (nil if unreadable) and one
// message per problem.
func checkMeshConfigFile(path string) (json.RawMessage, []string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, []string{err.Error()}
	}
	asJSON, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return nil, []string{fmt.Sprintf("not valid YAML: %v", err)}
	}
	var values struct {
		MeshConfig json.RawMessage `json:"meshConfig"`
	}
	if err := json.Unmarshal(asJSON, &values); err != nil || len(values.MeshConfig) == 0 {
		return nil, []string{"no meshConfig key"}
	}
	var mesh meshv1alpha1.MeshConfig
	if err := strictProto.Unmarshal(values.MeshConfig, &mesh); err != nil {
		return values.MeshConfig, []string{fmt.Sprintf("meshConfig: %v", err)}
	}
	var problems []string
	for i, p := range mesh.GetExtensionProviders() {
		if p.GetName() == "" {
			problems = append(problems, fmt.Sprintf("meshConfig.extensionProviders[%d].name is required", i))
		}
		if g := p.GetEnvoyExtAuthzGrpc(); g != nil && (g.GetService() == "" || g.GetPort() == 0) {
			problems = append(problems, fmt.Sprintf("meshConfig.extensionProviders[%d].envoyExtAuthzGrpc: service and port are required", i))
		}
	}
	return values.MeshConfig, problems
}
