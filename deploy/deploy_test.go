package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/syncd-dev/syncd/config"
)

// decode reads a manifest strictly into its API type: an unknown or
// misspelt field, or a value of the wrong type, fails.
func decode(t *testing.T, file string, into any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func typeIs(t *testing.T, file string, tm metav1.TypeMeta, apiVersion, kind string) {
	t.Helper()
	if tm.APIVersion != apiVersion || tm.Kind != kind {
		t.Fatalf("%s: %s %s, want %s %s", file, tm.APIVersion, tm.Kind, apiVersion, kind)
	}
}

func TestKubernetesManifests(t *testing.T) {
	var (
		cm  corev1.ConfigMap
		sec corev1.Secret
		dep appsv1.Deployment
		svc corev1.Service
		pdb policyv1.PodDisruptionBudget
		sm  monitoringv1.ServiceMonitor
	)
	decode(t, "configmap.yaml", &cm)
	typeIs(t, "configmap.yaml", cm.TypeMeta, "v1", "ConfigMap")
	decode(t, "secret.yaml", &sec)
	typeIs(t, "secret.yaml", sec.TypeMeta, "v1", "Secret")
	decode(t, "deployment.yaml", &dep)
	typeIs(t, "deployment.yaml", dep.TypeMeta, "apps/v1", "Deployment")
	decode(t, "service.yaml", &svc)
	typeIs(t, "service.yaml", svc.TypeMeta, "v1", "Service")
	decode(t, "pdb.yaml", &pdb)
	typeIs(t, "pdb.yaml", pdb.TypeMeta, "policy/v1", "PodDisruptionBudget")
	decode(t, "servicemonitor.yaml", &sm)
	typeIs(t, "servicemonitor.yaml", sm.TypeMeta, "monitoring.coreos.com/v1", "ServiceMonitor")

	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 {
		t.Errorf("deployment: replicas %v, want 3", dep.Spec.Replicas)
	}
	pod := dep.Spec.Template
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
		t.Fatalf("deployment: selector %v does not match the pod's labels %v (%v)", dep.Spec.Selector, pod.Labels, err)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("deployment: %d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if c.Name == "" || c.Image == "" {
		t.Errorf("deployment: container name %q image %q", c.Name, c.Image)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	probe := func(what string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
			t.Errorf("deployment: %s probe %+v, want GET %s", what, p, path)
			return
		}
		if _, ok := ports[p.HTTPGet.Port.String()]; !ok {
			t.Errorf("deployment: %s probe's port %q is not a container port %v", what, p.HTTPGet.Port.String(), ports)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("deployment: resource requests %v, want cpu and memory", c.Resources.Requests)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("deployment: container security context %+v, want no privilege escalation and a read-only root", sc)
	}
	if psc := pod.Spec.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("deployment: the pod may run as root")
	}
	// The grace period covers syncd's own shutdown timeout.
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || *g <= 30 {
		t.Errorf("deployment: terminationGracePeriodSeconds %v, want more than --shutdown-timeout (30s)", g)
	}

	// Every Secret and ConfigMap the pod refers to is the one shipped, with
	// the key it names.
	for _, e := range c.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if _, ok := sec.StringData[ref.Key]; ref.Name != sec.Name || !ok {
			t.Errorf("deployment: %s from secret %s key %s, which secret.yaml (%s) lacks", e.Name, ref.Name, ref.Key, sec.Name)
		}
		if !strings.HasPrefix(e.Name, "SYNCD_") || !slices.Contains(config.Keys(), envKey(e.Name)) {
			t.Errorf("deployment: %s is not one of syncd's variables", e.Name)
		}
	}
	var mounted bool
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil {
			mounted = v.ConfigMap.Name == cm.Name
		}
	}
	if !mounted {
		t.Errorf("deployment: configmap %s is not mounted", cm.Name)
	}
	if !slices.Contains(c.Args, "/etc/syncd/syncd.yaml") {
		t.Errorf("deployment: args %v do not name /etc/syncd/syncd.yaml", c.Args)
	}

	// The ConfigMap's file is a configuration syncd accepts, with the
	// Secret's values as the Deployment passes them.
	dir := t.TempDir()
	path := filepath.Join(dir, "syncd.yaml")
	if err := os.WriteFile(path, []byte(cm.Data["syncd.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"SYNCD_INSTANCE=syncd-0"}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			env = append(env, e.Name+"="+sec.StringData[e.ValueFrom.SecretKeyRef.Key])
		}
	}
	cfg, _, err := config.Load(path, env)
	if err != nil {
		t.Fatalf("configmap.yaml's syncd.yaml: %v", err)
	}
	if cfg.Redis.Addr == "" {
		t.Errorf("configmap: three replicas need redis.addr (shard locks)")
	}
	if !strings.HasSuffix(cfg.HTTP.AdminAddr, fmt.Sprintf(":%d", ports["admin"])) ||
		!strings.HasSuffix(cfg.HTTP.Addr, fmt.Sprintf(":%d", ports["http"])) {
		t.Errorf("configmap: http.addr %s and http.admin_addr %s are not the container's ports %v", cfg.HTTP.Addr, cfg.HTTP.AdminAddr, ports)
	}

	// The Service, the budget and the monitor select syncd's pods.
	for what, s := range map[string]map[string]string{"service": svc.Spec.Selector} {
		if !labels.SelectorFromSet(s).Matches(labels.Set(pod.Labels)) {
			t.Errorf("%s: selector %v does not match the pods", what, s)
		}
	}
	for what, ls := range map[string]*metav1.LabelSelector{"pdb": pdb.Spec.Selector, "servicemonitor": &sm.Spec.Selector} {
		s, err := metav1.LabelSelectorAsSelector(ls)
		target := labels.Set(pod.Labels)
		if what == "servicemonitor" {
			target = labels.Set(svc.Labels) // it selects Services
		}
		if err != nil || s.Empty() || !s.Matches(target) {
			t.Errorf("%s: selector %v does not select syncd (%v)", what, ls, err)
		}
	}
	if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
		t.Errorf("pdb: neither maxUnavailable nor minAvailable")
	}
	svcPorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = true
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("service: port %s targets %s, not a container port", p.Name, p.TargetPort.String())
		}
	}
	if len(sm.Spec.Endpoints) == 0 || !svcPorts[sm.Spec.Endpoints[0].Port] || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("servicemonitor: endpoints %+v, want /metrics on a service port", sm.Spec.Endpoints)
	}

	// kustomization.yaml lists every manifest.
	var kust struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	decode(t, "kustomization.yaml", &kust)
	files, _ := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(kust.Resources, b) {
			t.Errorf("kustomization.yaml does not list %s", b)
		}
	}
}

// envKey turns SYNCD_DATABASE_DSN into database.dsn.
func envKey(name string) string {
	for _, k := range config.Keys() {
		if config.EnvName(k) == name {
			return k
		}
	}
	return ""
}

// The unit passes `systemd-analyze verify` and its exposure score stays
// low. CI has systemd-analyze (Debian's systemd); elsewhere the test skips.
func TestSystemdUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing")
		}
		t.Skip("systemd-analyze is not installed")
	}
	raw, err := os.ReadFile(filepath.Join("systemd", "syncd.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes"} {
		if !bytes.Contains(raw, []byte("\n"+want+"\n")) {
			t.Errorf("syncd.service lacks %s", want)
		}
	}
	// verify checks that ExecStart's binary exists: point it at one.
	unit := filepath.Join(t.TempDir(), "syncd.service")
	bin, _ := exec.LookPath("true")
	if err := os.WriteFile(unit, bytes.ReplaceAll(raw, []byte("/usr/local/bin/syncd "), []byte(bin+" ")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command("systemd-analyze", "security", "--offline=yes", "--threshold=20", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0: %v\n%s", err, out)
	}
}

// The Dockerfile parses, passes BuildKit's lint rules, builds in stages,
// checks the ONNX Runtime library while building and runs as a user who
// is not root.
func TestDockerfile(t *testing.T) {
	f, err := os.Open(filepath.Join("docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	var lint []string
	l := linter.New(&linter.Config{Warn: func(rule, desc, _, msg string, loc []parser.Range) {
		lint = append(lint, fmt.Sprintf("%s: %s (%v)", rule, msg, loc))
	}})
	stages, _, err := instructions.Parse(res.AST, l)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range lint {
		t.Errorf("Dockerfile lint: %s", w)
	}
	if len(stages) < 3 {
		t.Fatalf("%d stages, want build, onnxruntime and the runtime image", len(stages))
	}
	var fetched bool
	for _, s := range stages[:len(stages)-1] {
		for _, c := range s.Commands {
			if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "onnxruntime.sh") {
				fetched = true // the script checks the pinned sha256
			}
		}
	}
	if !fetched {
		t.Errorf("no stage runs scripts/onnxruntime.sh")
	}
	final := stages[len(stages)-1]
	var user string
	var copied, libEnv bool
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.CopyCommand:
			if c.From != "" && strings.Contains(strings.Join(c.SourcePaths, " "), "libonnxruntime") {
				copied = true
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				libEnv = libEnv || kv.Key == "SYNCD_ONNXRUNTIME_LIB"
			}
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("the image runs as %q, want a user who is not root", user)
	}
	if !copied || !libEnv {
		t.Errorf("the runtime image copies the library %v and sets SYNCD_ONNXRUNTIME_LIB %v", copied, libEnv)
	}
}
