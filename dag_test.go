package chorus

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/chorusdb/chorus"

// allowedImports is the dependency table of doc.go: for each
// package (relative to the module), the project packages it may import. A
// subpackage (transport/memnet) may import its parent and whatever its
// parent may. Packages missing from the table fail the test, so a new
// package has to take a place in the DAG on purpose.
// TestDependencyTableDocumented keeps it equal to doc.go's.
var allowedImports = map[string][]string{
	"":      {},
	"clock": {},
	// Which build runs (version, commit); a leaf like clock.
	"version": {},
	"pace":    {"clock"},
	// How long to wait on a peer that may have gone silent.
	"silence": {"clock"},
	// Imported by tests only (go list's Imports leave test files out):
	// no row lists it, so production code cannot import it.
	"chorustest": {},
	// Certificates and TLS configs, on the standard library only.
	"certs":   {},
	"vclock":  {},
	"ring":    {},
	"storage": {"vclock", "antientropy", "storage/vfs", "storage/commitlog"},
	// storage's file-system seam and its commit log, below it.
	"storage/vfs":       {},
	"storage/commitlog": {"storage/vfs"},
	// The local address a node dials its peers from.
	"sourceaddr":   {},
	"gossip":       {"sourceaddr"},
	"antientropy":  {"vclock", "ring"},
	"hints":        {"vclock", "storage", "pace"},
	"replica":      {"vclock", "ring", "silence"},
	"repair":       {"vclock", "ring", "antientropy", "pace"},
	"handoff":      {"vclock", "ring", "antientropy", "pace"},
	"transport":    {"vclock", "ring", "transport/pb", "sourceaddr"},
	"transport/pb": {},
	"client":       {"vclock", "ring", "transport", "transport/pb", "silence"},
	"server": {"vclock", "ring", "storage", "gossip", "antientropy", "hints",
		"replica", "repair", "handoff", "transport", "transport/pb", "transport/memnet", "certs", "auth", "sourceaddr", "storage/vfs", "backup", "pace"},
	"server/localcluster": {"server"},
	// Imports storage for its ErrNotFound only: a node's stored sets come
	// through server.Node.Storage.
	"server/memcluster": {"server", "storage", "transport/memnet", "vclock"},
	"pbs":               {},
	// chorus nemesis's history, workloads and checker: pure, a leaf.
	"nemesis": {},
	// Roles, the auth file and the authorization decision: a leaf.
	"auth": {},
	// The backup file format and its pure merge, on vclock only.
	"backup": {"vclock"},
	"cmd": {"auth", "server", "server/localcluster", "client", "bench", "bench/etcdtarget", "bench/plots",
		"bench/procs", "pbs", "vclock", "certs", "nemesis", "nemesis/inject", "nemesis/runner", "nemesis/compose", "backup"},
	"bench": {"client", "server", "server/localcluster", "server/memcluster", "transport", "transport/pb",
		"transport/memnet", "vclock", "ring", "pbs", "bench/procstat"},
	// The harness's parts: pure tickers, the figures (owning gonum/plot),
	// etcd as a target, and clusters of node processes.
	"bench/chart":      {},
	"bench/plots":      {"bench", "bench/chart"},
	"bench/etcdtarget": {"bench"},
	"bench/procs":      {"client", "certs"},
	// Reads CPU time and peak RSS of the processes a benchmark started.
	"bench/procstat": {},
	// Network partitions of the fault tests, with iptables.
	"nemesis/netfault": {},
	// Plans, applies and heals the faults of a fault test.
	"nemesis/inject": {"nemesis/netfault"},
	// The docker-compose cluster as a fault target and network.
	"nemesis/compose": {"nemesis/netfault", "certs"},
	// Runs a fault test of node processes: the clients, the faults, the
	// convergence wait, the checker.
	"nemesis/runner": {"nemesis", "nemesis/inject", "nemesis/netfault", "nemesis/compose", "bench/procs", "bench/plots", "certs"},
	// The Kubernetes manifests; code only in the test that decodes them.
	"deploy/k8s": {},
}

// everywhere lists the leaves every package may import: they import
// nothing of ours, so no cycle can pass through them.
var everywhere = []string{"clock", "version"}

// exclusiveDeps names third-party modules that only one package may import
// directly, so that one package owns each external dependency.
var exclusiveDeps = map[string]string{
	"github.com/dgraph-io/badger/v4":          "storage",
	"github.com/hashicorp/memberlist":         "gossip",
	"go.etcd.io/etcd/client/v3":               "bench/etcdtarget",
	"gonum.org/v1/plot":                       "bench/plots",
	"github.com/HdrHistogram/hdrhistogram-go": "bench",
	"golang.org/x/time/rate":                  "pace",
	"k8s.io/api":                              "deploy/k8s",
}

// neverDeps lists modules a package must not depend on even transitively:
// the client library must not pull the storage engine into user binaries.
var neverDeps = map[string][]string{
	"client": {"github.com/dgraph-io/badger/v4"},
}

type goPackage struct {
	rel     string
	imports []string
	deps    []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-f",
		"{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	for line := range bytes.Lines(out) {
		f := strings.SplitN(strings.TrimSpace(string(line)), "|", 3)
		if len(f) != 3 {
			t.Fatalf("unexpected go list line %q", line)
		}
		pkgs = append(pkgs, goPackage{
			rel:     strings.TrimPrefix(strings.TrimPrefix(f[0], module), "/"),
			imports: strings.Fields(f[1]),
			deps:    strings.Fields(f[2]),
		})
	}
	return pkgs
}

// tableRow finds the row that governs rel: its own, or its nearest
// ancestor's (cmd/chorus is governed by cmd).
func tableRow(rel string) (string, bool) {
	for r := rel; ; r = path.Dir(r) {
		if _, ok := allowedImports[r]; ok {
			return r, true
		}
		if !strings.Contains(r, "/") {
			return "", false
		}
	}
}

// importAllowed reports whether package rel, governed by row, may import
// the project package imp: its parent, its own subpackages, or what the row
// lists.
func importAllowed(rel, row, imp string) bool {
	if within(rel, imp) || within(imp, rel) {
		return true
	}
	return slices.Contains(everywhere, imp) || slices.Contains(allowedImports[row], imp)
}

func within(pkg, parent string) bool {
	return parent != "" && strings.HasPrefix(pkg, parent+"/")
}

func TestImportDAG(t *testing.T) {
	for _, p := range listPackages(t) {
		row, ok := tableRow(p.rel)
		if !ok {
			t.Errorf("package %q is not in the dependency table; give it a row in allowedImports (and STYLE.md)", p.rel)
			continue
		}
		for _, imp := range p.imports {
			if owner, ok := exclusiveDeps[imp]; ok && row != owner {
				t.Errorf("%s imports %s, which only %s may import", p.rel, imp, owner)
			}
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			rel := strings.TrimPrefix(imp, module+"/")
			if !importAllowed(p.rel, row, rel) {
				t.Errorf("%s imports %s, which the dependency table forbids (allowed: %v)",
					p.rel, rel, allowedImports[row])
			}
		}
		for _, banned := range neverDeps[row] {
			for _, d := range p.deps {
				if d == banned || strings.HasPrefix(d, banned+"/") {
					t.Errorf("%s depends on %s (transitively); it must not", p.rel, d)
					break
				}
			}
		}
	}
}

func TestImportAllowedRules(t *testing.T) {
	tests := []struct {
		rel, imp string
		want     bool
	}{
		{"storage", "vclock", true},
		{"storage", "ring", false},
		{"vclock", "ring", false},
		{"transport/memnet", "transport", true},
		{"transport/memnet", "vclock", true},
		{"transport/memnet", "storage", false},
		{"server", "transport/memnet", true},
		{"cmd/chorus", "server", true},
		{"cmd/chorus", "storage", false},
		{"replica", "transport", false},
		{"client", "transport/memnet", false},
		{"cmd/chorus", "server/localcluster", true},
		{"server/localcluster", "server", true},
		{"server/memcluster", "transport/memnet", true},
		{"server/memcluster", "replica", false},
		{"bench", "server/memcluster", true},
		{"replica", "server/localcluster", false},
		{"vclock", "clock", true},
		{"replica", "clock", true},
		{"clock", "vclock", false},
		{"repair", "pace", true},
		{"replica", "pace", false},
		{"replica", "chorustest", false},
	}
	for _, tt := range tests {
		row, ok := tableRow(tt.rel)
		if !ok {
			t.Fatalf("no row for %q", tt.rel)
		}
		if got := importAllowed(tt.rel, row, tt.imp); got != tt.want {
			t.Errorf("importAllowed(%q, %q) = %v, want %v", tt.rel, tt.imp, got, tt.want)
		}
	}
	if _, ok := tableRow("mystery"); ok {
		t.Error("unknown package has a row")
	}
}

// docTable parses the dependency table of doc.go: for each package, the
// packages it may import and the modules it owns. Columns are placed as
// in the header line; a row whose package column is blank continues the
// row above.
func docTable(t *testing.T) (imports map[string][]string, owners map[string]string) {
	t.Helper()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	imports, owners = map[string][]string{}, map[string]string{}
	var importsAt, ownsAt int
	last := ""
	for line := range strings.Lines(string(src)) {
		row, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "//\t")
		switch {
		case !ok && importsAt > 0:
			return imports, owners // the table ended
		case !ok:
			continue
		case strings.HasPrefix(row, "package "):
			importsAt, ownsAt = strings.Index(row, "may import"), strings.Index(row, "owns")
			continue
		case importsAt == 0:
			continue
		}
		if len(row) < importsAt {
			t.Fatalf("doc.go table row %q is shorter than its columns", row)
		}
		pkg := strings.TrimSpace(row[:importsAt])
		deps := row[importsAt:min(len(row), ownsAt)]
		if pkg == "" {
			pkg = last
		} else if _, dup := imports[pkg]; dup {
			t.Fatalf("doc.go table lists %q twice", pkg)
		}
		last = pkg
		for _, d := range strings.Fields(deps) {
			if d != "-" {
				imports[pkg] = append(imports[pkg], d)
			}
		}
		if imports[pkg] == nil {
			imports[pkg] = []string{}
		}
		if len(row) > ownsAt {
			if m := strings.TrimSpace(row[ownsAt:]); m != "-" && m != "" {
				owners[m] = pkg
			}
		}
	}
	t.Fatal("doc.go has no dependency table (a line \"//\\tpackage  may import  owns\")")
	return nil, nil
}

// The table in doc.go is the one this test enforces: same rows, same
// imports, same owners of external modules.
func TestDependencyTableDocumented(t *testing.T) {
	imports, owners := docTable(t)
	want := maps.Clone(allowedImports)
	delete(want, "") // the root package holds tests only
	for _, pkg := range slices.Sorted(maps.Keys(want)) {
		got, ok := imports[pkg]
		if !ok {
			t.Errorf("doc.go's table has no row for %q", pkg)
			continue
		}
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want[pkg]))) {
			t.Errorf("%s: doc.go allows %v, dag_test.go %v", pkg, got, want[pkg])
		}
	}
	for pkg := range imports {
		if _, ok := want[pkg]; !ok {
			t.Errorf("doc.go's table has a row for %q, which dag_test.go does not", pkg)
		}
	}
	if !maps.Equal(owners, exclusiveDeps) {
		t.Errorf("doc.go's owners %v differ from dag_test.go's %v", owners, exclusiveDeps)
	}
}
