// Command kubevalidate checks rendered Kubernetes manifests against Kubernetes' own Go API types,
// the way an API server would decode them, with no cluster and no network.
//
// Usage: kubevalidate [-json OUT] [-meshconfig VALUES [-meshconfig-json OUT]] FILE...   (no FILE, or "-": standard input)
//
// Every YAML document is decoded STRICTLY: an unknown field, a duplicate field, a value of the
// wrong type, an unknown kind or an API version that a current cluster no longer serves is an
// error. Built-in kinds go through client-go's scheme with the strict YAML serializer; the
// ServiceMonitor custom resource (monitoring.coreos.com/v1) is decoded strictly into the local
// mirror of its schema in servicemonitor.go, and the Istio kinds of the chart's Istio example
// (networking.istio.io/v1, security.istio.io/v1) into istio.io/api's messages (istio.go).
// With -meshconfig, the meshConfig of an istiod Helm values file is checked the same way. On top of decoding, a few checks that the API
// server's validation would make and that a chart gets wrong easily: object, label, annotation,
// container, port and env names; one handler per probe; volume mounts that name a volume;
// selectors that match the pod template's labels.
//
// With -json, every object is also written to OUT as one JSON array (in the order read), so
// that assertions can be written with nothing but a JSON parser. Exit status: 0 all valid,
// 1 any invalid (each problem printed on stderr as "doc N (Kind/name): problem"), 2 usage.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// servedGroupVersions are the API versions a chart may use: the ones current clusters
// (Kubernetes 1.30 and newer) serve. The scheme knows older, removed ones too
// (policy/v1beta1, autoscaling/v2beta2, ...), which a cluster would reject.
var servedGroupVersions = map[string]bool{
	"v1":                           true,
	"apps/v1":                      true,
	"batch/v1":                     true,
	"policy/v1":                    true,
	"autoscaling/v2":               true,
	"networking.k8s.io/v1":         true,
	"rbac.authorization.k8s.io/v1": true,
	"monitoring.coreos.com/v1":     true,
	"networking.istio.io/v1":       true,
	"security.istio.io/v1":         true,
}

func main() {
	jsonOut := flag.String("json", "", "also write every object, as one JSON array, to this file")
	meshConfig := flag.String("meshconfig", "", "also check the meshConfig key of this istiod Helm values file")
	meshJSON := flag.String("meshconfig-json", "", "write that meshConfig, as JSON, to this file")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: kubevalidate [-json OUT] [-meshconfig VALUES [-meshconfig-json OUT]] FILE...  (no FILE or '-': stdin)")
	}
	flag.Parse()
	inputs := flag.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}

	strict := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})

	var objects []json.RawMessage
	failures, docs := 0, 0
	if *meshConfig != "" {
		mesh, problems := checkMeshConfigFile(*meshConfig)
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "%s: %s\n", *meshConfig, p)
			failures++
		}
		if *meshJSON != "" && mesh != nil {
			if err := os.WriteFile(*meshJSON, mesh, 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
	}
	for _, input := range inputs {
		documents, err := readDocuments(input)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", input, err)
			os.Exit(2)
		}
		for _, doc := range documents {
			docs++
			obj, label, problems := validateDocument(strict, doc)
			for _, p := range problems {
				fmt.Fprintf(os.Stderr, "%s: doc %d (%s): %s\n", input, docs, label, p)
				failures++
			}
			if obj != nil {
				objects = append(objects, obj)
			}
		}
	}
	if *jsonOut != "" {
		out, _ := json.Marshal(objects)
		if err := os.WriteFile(*jsonOut, out, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "kubevalidate: %d problem(s) in %d object(s)\n", failures, len(objects))
		os.Exit(1)
	}
	fmt.Printf("kubevalidate: %d object(s) valid\n", len(objects))
}

// readDocuments splits a multi-document YAML stream, dropping documents that hold only
// comments or whitespace (helm emits those for templates that render nothing).
func readDocuments(input string) ([][]byte, error) {
	var r io.Reader = os.Stdin
	if input != "-" {
		f, err := os.Open(input)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if !isEmptyDocument(doc) {
			docs = append(docs, doc)
		}
	}
}

func isEmptyDocument(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

// validateDocument decodes one document strictly and runs the semantic checks. It returns the
// object as JSON (nil if it is not even YAML), a "Kind/name" label and the problems found.
func validateDocument(strict runtime.Decoder, doc []byte) (json.RawMessage, string, []string) {
	asJSON, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, "?", []string{fmt.Sprintf("not valid YAML: %v", err)}
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(asJSON, &head); err != nil {
		return asJSON, "?", []string{fmt.Sprintf("not an object: %v", err)}
	}
	label := head.Kind + "/" + head.Metadata.Name
	var problems []string
	if head.APIVersion == "" || head.Kind == "" {
		return asJSON, label, []string{"apiVersion and kind are required"}
	}
	if !servedGroupVersions[head.APIVersion] {
		problems = append(problems, fmt.Sprintf("apiVersion %q is not served by current clusters", head.APIVersion))
	}

	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return asJSON, label, append(problems, err.Error())
	}
	if gv.Group == monitoringGroup {
		obj, err := decodeMonitoring(head.Kind, doc)
		if err != nil {
			return asJSON, label, append(problems, err.Error())
		}
		return asJSON, label, append(problems, messages(checkMeta(false, obj))...)
	}
	if isIstioGroup(gv.Group) {
		obj, err := decodeIstio(head.APIVersion, head.Kind, doc)
		if err != nil {
			return asJSON, label, append(problems, err.Error())
		}
		return asJSON, label, append(problems, messages(checkMeta(false, obj))...)
	}
	obj, gvk, err := strict.Decode(doc, nil, nil)
	if err != nil {
		return asJSON, label, append(problems, fmt.Sprintf("strict decoding: %v", err))
	}
	if gvk.GroupVersion() != gv || gvk.Kind != head.Kind {
		problems = append(problems, fmt.Sprintf("decoded as %v", gvk))
	}
	return asJSON, label, append(problems, checkObject(obj)...)
}
