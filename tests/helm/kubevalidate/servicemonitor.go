package main

import (
	"fmt"
	"regexp"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// monitoringGroup is the prometheus-operator's API group. Its Go types are not pulled in (a
// large dependency for one kind); ServiceMonitor below mirrors the monitoring.coreos.com/v1
// CRD schema for the fields a chart sets, and strict decoding rejects any other field.
const monitoringGroup = "monitoring.coreos.com"

// ServiceMonitor mirrors monitoring.coreos.com/v1 ServiceMonitor (prometheus-operator
// pkg/apis/monitoring/v1/servicemonitor_types.go), fields a chart may set only.
type ServiceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ServiceMonitorSpec `json:"spec"`
}

type ServiceMonitorSpec struct {
	JobLabel          string               `json:"jobLabel,omitempty"`
	TargetLabels      []string             `json:"targetLabels,omitempty"`
	PodTargetLabels   []string             `json:"podTargetLabels,omitempty"`
	Endpoints         []Endpoint           `json:"endpoints"`
	Selector          metav1.LabelSelector `json:"selector"`
	NamespaceSelector *NamespaceSelector   `json:"namespaceSelector,omitempty"`
	SampleLimit       *uint64              `json:"sampleLimit,omitempty"`
}

type NamespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

type Endpoint struct {
	Port              string          `json:"port,omitempty"`
	Path              string          `json:"path,omitempty"`
	Scheme            string          `json:"scheme,omitempty"`
	Interval          string          `json:"interval,omitempty"`
	ScrapeTimeout     string          `json:"scrapeTimeout,omitempty"`
	HonorLabels       bool            `json:"honorLabels,omitempty"`
	MetricRelabelings []RelabelConfig `json:"metricRelabelings,omitempty"`
	Relabelings       []RelabelConfig `json:"relabelings,omitempty"`
}

type RelabelConfig struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

// promDuration is the CRD's pattern for monitoringv1.Duration.
var promDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

var relabelActions = map[string]bool{"": true, "replace": true, "Replace": true, "keep": true,
	"Keep": true, "drop": true, "Drop": true, "hashmod": true, "HashMod": true, "labelmap": true,
	"LabelMap": true, "labeldrop": true, "LabelDrop": true, "labelkeep": true, "LabelKeep": true,
	"lowercase": true, "Lowercase": true, "uppercase": true, "Uppercase": true, "keepequal": true,
	"KeepEqual": true, "dropequal": true, "DropEqual": true}

// decodeMonitoring strictly decodes a monitoring.coreos.com/v1 object and checks what the
// CRD's OpenAPI schema would.
func decodeMonitoring(kind string, doc []byte) (*ServiceMonitor, error) {
	if kind != "ServiceMonitor" {
		return nil, fmt.Errorf("kind %q of %s is not known to kubevalidate", kind, monitoringGroup)
	}
	var sm ServiceMonitor
	if err := yaml.UnmarshalStrict(doc, &sm); err != nil {
		return nil, fmt.Errorf("strict decoding: %v", err)
	}
	if len(sm.Spec.Endpoints) == 0 {
		return nil, fmt.Errorf("spec.endpoints: at least one endpoint is required")
	}
	for i, e := range sm.Spec.Endpoints {
		for field, d := range map[string]string{"interval": e.Interval, "scrapeTimeout": e.ScrapeTimeout} {
			if d != "" && !promDuration.MatchString(d) {
				return nil, fmt.Errorf("spec.endpoints[%d].%s: %q is not a Prometheus duration", i, field, d)
			}
		}
		if e.Scheme != "" && e.Scheme != "http" && e.Scheme != "https" {
			return nil, fmt.Errorf("spec.endpoints[%d].scheme: %q is not http or https", i, e.Scheme)
		}
		for _, r := range append(append([]RelabelConfig{}, e.Relabelings...), e.MetricRelabelings...) {
			if !relabelActions[r.Action] {
				return nil, fmt.Errorf("spec.endpoints[%d]: unknown relabel action %q", i, r.Action)
			}
		}
	}
	return &sm, nil
}
