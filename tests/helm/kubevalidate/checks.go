package main

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// checkObject makes the checks of the API server's validation that strict decoding cannot:
// names, labels, annotations, pod specs and selectors. It is a subset, chosen for the mistakes
// a chart template makes; it returns one message per problem.
func checkObject(obj runtime.Object) []string {
	var errs field.ErrorList
	if accessor, err := meta.Accessor(obj); err == nil {
		_, isService := obj.(*corev1.Service)
		errs = append(errs, checkMeta(isService, accessor)...)
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		errs = append(errs, checkSelector(o.Spec.Selector, o.Spec.Template.Labels, field.NewPath("spec", "selector"))...)
		errs = append(errs, checkPodSpec(&o.Spec.Template.Spec, nil, field.NewPath("spec", "template", "spec"))...)
	case *appsv1.StatefulSet:
		errs = append(errs, checkSelector(o.Spec.Selector, o.Spec.Template.Labels, field.NewPath("spec", "selector"))...)
		var claims []string
		for _, c := range o.Spec.VolumeClaimTemplates {
			claims = append(claims, c.Name)
			if len(c.Spec.AccessModes) == 0 {
				errs = append(errs, field.Required(field.NewPath("spec", "volumeClaimTemplates", c.Name, "spec", "accessModes"), ""))
			}
			if _, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
				errs = append(errs, field.Required(field.NewPath("spec", "volumeClaimTemplates", c.Name, "spec", "resources", "requests", "storage"), ""))
			}
		}
		if o.Spec.ServiceName == "" {
			errs = append(errs, field.Required(field.NewPath("spec", "serviceName"), "a governing Service"))
		}
		errs = append(errs, checkPodSpec(&o.Spec.Template.Spec, claims, field.NewPath("spec", "template", "spec"))...)
	case *batchv1.Job:
		p := field.NewPath("spec", "template", "spec")
		if rp := o.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
			errs = append(errs, field.NotSupported(p.Child("restartPolicy"), rp, []string{"Never", "OnFailure"}))
		}
		errs = append(errs, checkPodSpec(&o.Spec.Template.Spec, nil, p)...)
	case *corev1.Pod:
		errs = append(errs, checkPodSpec(&o.Spec, nil, field.NewPath("spec"))...)
	case *corev1.Service:
		for i, port := range o.Spec.Ports {
			p := field.NewPath("spec", "ports").Index(i)
			if len(o.Spec.Ports) > 1 && port.Name == "" {
				errs = append(errs, field.Required(p.Child("name"), "with more than one port"))
			}
			if port.Name != "" {
				for _, m := range validation.IsDNS1123Label(port.Name) {
					errs = append(errs, field.Invalid(p.Child("name"), port.Name, m))
				}
			}
			if port.Port < 1 || port.Port > 65535 {
				errs = append(errs, field.Invalid(p.Child("port"), port.Port, "1-65535"))
			}
		}
		errs = append(errs, metav1validation.ValidateLabels(o.Spec.Selector, field.NewPath("spec", "selector"))...)
	case *policyv1.PodDisruptionBudget:
		if (o.Spec.MinAvailable == nil) == (o.Spec.MaxUnavailable == nil) {
			errs = append(errs, field.Invalid(field.NewPath("spec"), "", "exactly one of minAvailable and maxUnavailable"))
		}
		if o.Spec.Selector == nil {
			errs = append(errs, field.Required(field.NewPath("spec", "selector"), ""))
		}
	case *autoscalingv2.HorizontalPodAutoscaler:
		if o.Spec.MinReplicas != nil && *o.Spec.MinReplicas > o.Spec.MaxReplicas {
			errs = append(errs, field.Invalid(field.NewPath("spec", "minReplicas"), *o.Spec.MinReplicas, "above maxReplicas"))
		}
		if o.Spec.ScaleTargetRef.Kind == "" || o.Spec.ScaleTargetRef.Name == "" {
			errs = append(errs, field.Required(field.NewPath("spec", "scaleTargetRef"), "kind and name"))
		}
	case *networkingv1.NetworkPolicy:
		for i, rule := range o.Spec.Ingress {
			for j, port := range rule.Ports {
				if port.Port == nil {
					errs = append(errs, field.Required(field.NewPath("spec", "ingress").Index(i).Child("ports").Index(j).Child("port"), ""))
				}
			}
		}
	}
	return messages(errs)
}

func messages(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func checkMeta(isService bool, m metav1.Object) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("metadata")
	nameCheck := validation.IsDNS1123Subdomain
	if isService {
		nameCheck = validation.IsDNS1035Label
	}
	if m.GetName() == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	for _, msg := range nameCheck(m.GetName()) {
		errs = append(errs, field.Invalid(p.Child("name"), m.GetName(), msg))
	}
	errs = append(errs, metav1validation.ValidateLabels(m.GetLabels(), p.Child("labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(m.GetAnnotations(), p.Child("annotations"))...)
	return errs
}

func checkSelector(sel *metav1.LabelSelector, podLabels map[string]string, p *field.Path) field.ErrorList {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return field.ErrorList{field.Required(p, "a non-empty selector")}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return field.ErrorList{field.Invalid(p, sel, err.Error())}
	}
	if !s.Matches(labels.Set(podLabels)) {
		return field.ErrorList{field.Invalid(p, sel, "does not match the pod template's labels")}
	}
	return nil
}

func checkPodSpec(spec *corev1.PodSpec, claimTemplates []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	volumes := map[string]bool{}
	for _, c := range claimTemplates {
		volumes[c] = true
	}
	for i, v := range spec.Volumes {
		vp := p.Child("volumes").Index(i)
		for _, m := range validation.IsDNS1123Label(v.Name) {
			errs = append(errs, field.Invalid(vp.Child("name"), v.Name, m))
		}
		if volumes[v.Name] {
			errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
		}
		volumes[v.Name] = true
		if v.Secret != nil && v.Secret.SecretName == "" {
			errs = append(errs, field.Required(vp.Child("secret", "secretName"), ""))
		}
		if v.ConfigMap != nil && v.ConfigMap.Name == "" {
			errs = append(errs, field.Required(vp.Child("configMap", "name"), ""))
		}
	}
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(p.Child("containers"), ""))
	}
	names := map[string]bool{}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for i, c := range all {
		cp := p.Child("containers").Index(i)
		for _, m := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, field.Invalid(cp.Child("name"), c.Name, m))
		}
		if names[c.Name] {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		}
		names[c.Name] = true
		if c.Image == "" {
			errs = append(errs, field.Required(cp.Child("image"), ""))
		}
		ports := map[string]bool{}
		for j, port := range c.Ports {
			pp := cp.Child("ports").Index(j)
			if port.Name != "" {
				for _, m := range validation.IsValidPortName(port.Name) {
					errs = append(errs, field.Invalid(pp.Child("name"), port.Name, m))
				}
				if ports[port.Name] {
					errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
				}
				ports[port.Name] = true
			}
			for _, m := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(pp.Child("containerPort"), port.ContainerPort, m))
			}
		}
		for j, e := range c.Env {
			for _, m := range validation.IsEnvVarName(e.Name) {
				errs = append(errs, field.Invalid(cp.Child("env").Index(j).Child("name"), e.Name, m))
			}
		}
		mounts := map[string]bool{}
		for j, vm := range c.VolumeMounts {
			mp := cp.Child("volumeMounts").Index(j)
			if !volumes[vm.Name] {
				errs = append(errs, field.NotFound(mp.Child("name"), vm.Name))
			}
			if mounts[vm.MountPath] {
				errs = append(errs, field.Duplicate(mp.Child("mountPath"), vm.MountPath))
			}
			mounts[vm.MountPath] = true
		}
		errs = append(errs, checkProbe(c.LivenessProbe, false, cp.Child("livenessProbe"))...)
		errs = append(errs, checkProbe(c.ReadinessProbe, true, cp.Child("readinessProbe"))...)
		errs = append(errs, checkProbe(c.StartupProbe, false, cp.Child("startupProbe"))...)
		for res, limit := range c.Resources.Limits {
			if req, ok := c.Resources.Requests[res]; ok && req.Cmp(limit) > 0 {
				errs = append(errs, field.Invalid(cp.Child("resources", "requests").Key(string(res)), req.String(), "above the limit"))
			}
		}
	}
	return errs
}

func checkProbe(probe *corev1.Probe, readiness bool, p *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	handlers := 0
	h := probe.ProbeHandler
	for _, set := range []bool{h.Exec != nil, h.HTTPGet != nil, h.TCPSocket != nil, h.GRPC != nil} {
		if set {
			handlers++
		}
	}
	if handlers != 1 {
		return field.ErrorList{field.Invalid(p, handlers, "exactly one handler (exec, httpGet, tcpSocket, grpc)")}
	}
	if h.GRPC != nil {
		if msgs := validation.IsValidPortNum(int(h.GRPC.Port)); len(msgs) > 0 {
			return field.ErrorList{field.Invalid(p.Child("grpc", "port"), h.GRPC.Port, fmt.Sprint(msgs))}
		}
	}
	if h.Exec != nil && len(h.Exec.Command) == 0 {
		return field.ErrorList{field.Required(p.Child("exec", "command"), "")}
	}
	if probe.SuccessThreshold > 1 && !readiness {
		return field.ErrorList{field.Invalid(p.Child("successThreshold"), probe.SuccessThreshold, "must be 1 for liveness and startup probes")}
	}
	return nil
}
