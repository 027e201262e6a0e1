package k8s_test

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of a manifest file.
type document struct {
	where string // file and document number, for messages
	body  []byte
}

var separator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// documents splits every *.yaml and *.yml file of this directory into its
// documents, leaving out those holding only comments.
func documents(t *testing.T) []document {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no manifests (*.yaml) in deploy/k8s")
	}
	var docs []document
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, body := range separator.Split(string(src), -1) {
			if onlyComments(body) {
				continue
			}
			docs = append(docs, document{where: fmt.Sprintf("%s (document %d)", f, i+1), body: []byte(body)})
		}
	}
	return docs
}

func onlyComments(doc string) bool {
	for line := range strings.Lines(doc) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// newObject returns the API type of a document's apiVersion and kind, or
// nil for a kind the manifests are not expected to hold.
func newObject(tm metav1.TypeMeta) any {
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}
	case "v1 Service":
		return &corev1.Service{}
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	}
	return nil
}

// decode decodes one document strictly into its API type: unknown fields,
// duplicate keys and wrongly typed values are errors.
func decode(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	obj := newObject(tm)
	if obj == nil {
		return nil, fmt.Errorf("unexpected kind %q of apiVersion %q", tm.Kind, tm.APIVersion)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// manifests is every object of deploy/k8s, decoded.
type manifests struct {
	sts      []*appsv1.StatefulSet
	services []*corev1.Service
	pdbs     []*policyv1.PodDisruptionBudget
}

func load(t *testing.T) manifests {
	t.Helper()
	var m manifests
	for _, d := range documents(t) {
		obj, err := decode(d.body)
		if err != nil {
			t.Fatalf("%s: %v", d.where, err)
		}
		switch o := obj.(type) {
		case *appsv1.StatefulSet:
			m.sts = append(m.sts, o)
		case *corev1.Service:
			m.services = append(m.services, o)
		case *policyv1.PodDisruptionBudget:
			m.pdbs = append(m.pdbs, o)
		}
	}
	if len(m.sts) != 1 || len(m.pdbs) != 1 || len(m.services) != 2 {
		t.Fatalf("got %d StatefulSets, %d PodDisruptionBudgets, %d Services; want 1, 1 and 2 (headless and client)",
			len(m.sts), len(m.pdbs), len(m.services))
	}
	return m
}

func TestManifestsDecodeStrictly(t *testing.T) {
	load(t)
}

// The strict decode is what catches typos: prove it does.
func TestStrictDecodeCatchesMistakes(t *testing.T) {
	src, err := os.ReadFile("statefulset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, from, to string }{
		{"misspelt field", "containerPort: 8080", "containerPrt: 8080"},
		{"wrong type", "replicas: 3", "replicas: three"},
		{"duplicate key", "serviceName: chorus", "serviceName: chorus\n  serviceName: chorus"},
		{"unknown kind", "kind: StatefulSet", "kind: StatefulSett"},
	} {
		if !bytes.Contains(src, []byte(tt.from)) {
			t.Fatalf("%s: statefulset.yaml has no %q to change", tt.name, tt.from)
		}
		if _, err := decode(bytes.Replace(src, []byte(tt.from), []byte(tt.to), 1)); err == nil {
			t.Errorf("%s (%q): decoded without an error", tt.name, tt.to)
		}
	}
}

// nodeArgs returns the flags of the container's `chorus node` command,
// written --flag=value.
func nodeArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	if len(args) == 0 || args[0] != "node" {
		t.Fatalf("container args %v do not start with node", args)
	}
	flags := map[string]string{}
	for _, a := range args[1:] {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !ok {
			t.Fatalf("argument %q: want --flag=value", a)
		}
		if _, dup := flags[name]; dup {
			t.Fatalf("flag --%s given twice", name)
		}
		flags[name] = value
	}
	return flags
}

func port(t *testing.T, flag, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("--%s=%s: %v", flag, addr, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		t.Fatalf("--%s=%s: port: %v", flag, addr, err)
	}
	return int32(n)
}

// chorusContainer returns the StatefulSet's one container.
func chorusContainer(t *testing.T, sts *appsv1.StatefulSet) corev1.Container {
	t.Helper()
	cs := sts.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("StatefulSet has %d containers, want 1", len(cs))
	}
	return cs[0]
}

// containerPort finds the container port named name.
func containerPort(c corev1.Container, name string) (corev1.ContainerPort, bool) {
	i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name })
	if i < 0 {
		return corev1.ContainerPort{}, false
	}
	return c.Ports[i], true
}

func TestListenersAreContainerPorts(t *testing.T) {
	sts := load(t).sts[0]
	c := chorusContainer(t, sts)
	flags := nodeArgs(t, c.Args)
	for _, tt := range []struct {
		flag  string
		names []string
	}{
		{"http-addr", []string{"http"}},
		{"grpc-addr", []string{"grpc"}},
		{"peer-addr", []string{"peer"}},
		// Gossip speaks UDP and TCP on the same port.
		{"gossip-addr", []string{"gossip", "gossip-udp"}},
	} {
		addr, ok := flags[tt.flag]
		if !ok {
			t.Errorf("no --%s", tt.flag)
			continue
		}
		for _, name := range tt.names {
			p, ok := containerPort(c, name)
			if !ok || p.ContainerPort != port(t, tt.flag, addr) {
				t.Errorf("--%s=%s: container port %q is %+v, want the same port", tt.flag, addr, name, p)
			}
		}
	}
	if p, _ := containerPort(c, "gossip-udp"); p.Protocol != corev1.ProtocolUDP {
		t.Errorf("container port gossip-udp has protocol %q, want UDP", p.Protocol)
	}
}

func TestProbes(t *testing.T) {
	c := chorusContainer(t, load(t).sts[0])
	httpPort := port(t, "http-addr", nodeArgs(t, c.Args)["http-addr"])
	for _, tt := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"startupProbe", c.StartupProbe, "/healthz"},
	} {
		if tt.probe == nil || tt.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe", tt.name)
			continue
		}
		g := tt.probe.HTTPGet
		if g.Path != tt.path || g.Scheme != corev1.URISchemeHTTPS {
			t.Errorf("%s: %s %s, want HTTPS %s", tt.name, g.Scheme, g.Path, tt.path)
		}
		p, ok := resolvePort(c, g.Port)
		if !ok || p.ContainerPort != httpPort {
			t.Errorf("%s: port %s is not the HTTP port %d", tt.name, g.Port.String(), httpPort)
		}
	}
}

// resolvePort finds the container port a named or numbered port refers to.
func resolvePort(c corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	if p.Type == intstr.String {
		return containerPort(c, p.StrVal)
	}
	i := slices.IndexFunc(c.Ports, func(cp corev1.ContainerPort) bool { return cp.ContainerPort == p.IntVal })
	if i < 0 {
		return corev1.ContainerPort{}, false
	}
	return c.Ports[i], true
}

// envFrom returns the field path an environment variable is set from, or
// its literal value.
func envFrom(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name != name {
			continue
		}
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			return e.ValueFrom.FieldRef.FieldPath, true
		}
		return e.Value, true
	}
	return "", false
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func TestStableNames(t *testing.T) {
	m := load(t)
	sts := m.sts[0]
	c := chorusContainer(t, sts)
	flags := nodeArgs(t, c.Args)

	for _, a := range c.Args {
		for _, ref := range envRef.FindAllStringSubmatch(a, -1) {
			if _, ok := envFrom(c, ref[1]); !ok {
				t.Errorf("argument %q uses $(%s), which the container's env does not define", a, ref[1])
			}
		}
	}
	for name, want := range map[string]string{"POD_NAME": "metadata.name", "NAMESPACE": "metadata.namespace"} {
		if got, _ := envFrom(c, name); got != want {
			t.Errorf("env %s from %q, want fieldRef %s", name, got, want)
		}
	}
	if got, _ := envFrom(c, "CHORUS_ZONE"); got != "metadata.labels['topology.kubernetes.io/zone']" {
		t.Errorf("env CHORUS_ZONE (--zone) from %q, want the pod's topology.kubernetes.io/zone label", got)
	}

	svc := sts.Spec.ServiceName
	if want := "$(POD_NAME)." + svc + ".$(NAMESPACE).svc"; flags["advertise"] != want {
		t.Errorf("--advertise=%s, want %s", flags["advertise"], want)
	}
	// A node ID that has left is retired for good; pod names come back
	// when the set is scaled down and up again.
	if name, ok := flags["name"]; ok {
		t.Errorf("--name=%s: want none (a random ID kept in the volume), since a pod name would be reused after a leave", name)
	}
	seed := regexp.MustCompile(`^` + regexp.QuoteMeta(sts.Name) + `-([0-9]+)\.` + regexp.QuoteMeta(svc) + `\.\$\(NAMESPACE\)\.svc$`)
	gossip := port(t, "gossip-addr", flags["gossip-addr"])
	seeds := strings.Split(flags["join"], ",")
	if len(seeds) < 2 {
		t.Errorf("--join=%s: want at least two seeds, so that one down does not stop a join", flags["join"])
	}
	for _, s := range seeds {
		m := seed.FindStringSubmatch(hostOf(s))
		if m == nil {
			t.Errorf("--join seed %q: want %s-N.%s.$(NAMESPACE).svc:%d", s, sts.Name, svc, gossip)
			continue
		}
		if ord, _ := strconv.Atoi(m[1]); ord >= 3 {
			t.Errorf("--join seed %q: ordinal %d is gone once the set is scaled back to 3", s, ord)
		}
		if port(t, "join", s) != gossip {
			t.Errorf("--join seed %q: want the gossip port %d", s, gossip)
		}
	}

	var headless *corev1.Service
	for _, s := range m.services {
		if s.Name == svc {
			headless = s
		}
	}
	switch {
	case headless == nil:
		t.Errorf("no Service %q, the StatefulSet's serviceName", svc)
	case headless.Spec.ClusterIP != corev1.ClusterIPNone:
		t.Errorf("Service %s: clusterIP %q, want None (headless, for per-pod DNS names)", svc, headless.Spec.ClusterIP)
	case !headless.Spec.PublishNotReadyAddresses:
		t.Errorf("Service %s: publishNotReadyAddresses is off; a starting node could not resolve the seeds", svc)
	}
}

func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return h
}

func TestVolumes(t *testing.T) {
	sts := load(t).sts[0]
	c := chorusContainer(t, sts)
	flags := nodeArgs(t, c.Args)
	mounts := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm
	}

	i := slices.IndexFunc(sts.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == "data" })
	if i < 0 {
		t.Fatal("no volumeClaimTemplate \"data\": every pod needs a volume of its own")
	}
	if _, ok := sts.Spec.VolumeClaimTemplates[i].Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		t.Error("volumeClaimTemplate data requests no storage")
	}
	if mounts["data"].MountPath != flags["data-dir"] {
		t.Errorf("volume data is mounted at %q, --data-dir is %q", mounts["data"].MountPath, flags["data-dir"])
	}

	vols := map[string]corev1.Volume{}
	for _, v := range sts.Spec.Template.Spec.Volumes {
		vols[v.Name] = v
	}
	certs := mounts["certs"]
	if certs.MountPath != flags["certs-dir"] || !certs.ReadOnly {
		t.Errorf("volume certs mounted at %q (read-only %v), want read-only at --certs-dir %q", certs.MountPath, certs.ReadOnly, flags["certs-dir"])
	}
	if vols["certs"].Secret == nil {
		t.Error("volume certs is not a Secret")
	}
	for _, vm := range c.VolumeMounts {
		_, pod := vols[vm.Name]
		claim := slices.ContainsFunc(sts.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == vm.Name })
		if !pod && !claim {
			t.Errorf("volumeMount %q names no volume and no volumeClaimTemplate", vm.Name)
		}
	}
	if sc := c.SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		if mounts["tmp"].MountPath != "/tmp" {
			t.Error("read-only root filesystem without a volume at /tmp")
		}
	}
}

// dockerfileUser reads the numeric user of the root Dockerfile's USER.
func dockerfileUser(t *testing.T) int64 {
	t.Helper()
	src, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^USER ([0-9]+)(:[0-9]+)?\s*$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("Dockerfile has no numeric USER line")
	}
	uid, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return uid
}

func TestPodSecurityAndPlacement(t *testing.T) {
	spec := load(t).sts[0].Spec.Template.Spec
	sc := spec.SecurityContext
	uid := dockerfileUser(t)
	switch {
	case sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("pod securityContext: want runAsNonRoot")
	case sc.RunAsUser == nil || *sc.RunAsUser != uid:
		t.Errorf("pod securityContext runAsUser %v, want the Dockerfile's USER %d", sc.RunAsUser, uid)
	case sc.FSGroup == nil:
		t.Error("pod securityContext: want an fsGroup, so that the user can write the volume")
	}

	a := spec.Affinity
	if a == nil || a.PodAntiAffinity == nil ||
		!slices.ContainsFunc(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, func(p corev1.PodAffinityTerm) bool {
			return p.TopologyKey == corev1.LabelHostname
		}) {
		t.Errorf("want a required pod anti-affinity on %s: one node per machine", corev1.LabelHostname)
	}
}

func matches(t *testing.T, what string, sel *metav1.LabelSelector, labels map[string]string) {
	t.Helper()
	if sel == nil || len(sel.MatchLabels) == 0 {
		t.Errorf("%s: want a matchLabels selector", what)
		return
	}
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			t.Errorf("%s selects %s=%s, which the pods do not carry (%v)", what, k, v, labels)
		}
	}
}

func TestSelectorsAndServices(t *testing.T) {
	m := load(t)
	sts := m.sts[0]
	labels := sts.Spec.Template.Labels
	matches(t, "StatefulSet", sts.Spec.Selector, labels)

	pdb := m.pdbs[0]
	matches(t, "PodDisruptionBudget", pdb.Spec.Selector, labels)
	if mu := pdb.Spec.MaxUnavailable; mu == nil || *mu != intstr.FromInt32(1) {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1", mu)
	}
	if pdb.Spec.MinAvailable != nil {
		t.Error("PodDisruptionBudget sets minAvailable too; maxUnavailable alone follows scaling")
	}

	c := chorusContainer(t, sts)
	for _, s := range m.services {
		matches(t, "Service "+s.Name, &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, labels)
		for _, p := range s.Spec.Ports {
			cp, ok := resolvePort(c, p.TargetPort)
			proto := cmpOr(p.Protocol, corev1.ProtocolTCP)
			if !ok || cmpOr(cp.Protocol, corev1.ProtocolTCP) != proto {
				t.Errorf("Service %s port %s targets %s/%s, which is no container port", s.Name, p.Name, p.TargetPort.String(), proto)
			}
		}
	}
}

func cmpOr(p, def corev1.Protocol) corev1.Protocol {
	if p == "" {
		return def
	}
	return p
}

// The StatefulSet runs the node with the flags that
// deploy/docker-compose.yml gives, which scripts/compose-test.sh runs for
// real; the zone comes from the environment (CHORUS_ZONE) here, and the
// node ID from the volume (compose names its nodes, and its test retires
// the one name that leaves together with the cluster).
func TestSameFlagsAsCompose(t *testing.T) {
	src, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Command []string `json:"command"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(src, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	node, ok := compose.Services["chorus-0"]
	if !ok {
		t.Fatal("docker-compose.yml has no service chorus-0")
	}
	want := slices.Sorted(maps.Keys(nodeArgs(t, node.Command)))
	c := chorusContainer(t, load(t).sts[0])
	got := nodeArgs(t, c.Args)
	if _, ok := envFrom(c, "CHORUS_ZONE"); ok {
		got["zone"] = "$(CHORUS_ZONE)"
	}
	got["name"] = "(kept in the volume)"
	if g := slices.Sorted(maps.Keys(got)); !slices.Equal(g, want) {
		t.Errorf("StatefulSet node flags %v, docker-compose.yml's %v", g, want)
	}
}
