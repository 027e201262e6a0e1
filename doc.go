// Package chorus is the root of Chorus, a Dynamo-style, leaderless,
// eventually consistent key-value store. The code lives in the packages
// below this one; this package holds only repository-wide tests, such as
// the check that package imports follow the dependency table.
//
// # Dependency table
//
// The packages form a DAG. Each may import only the project packages its
// row lists, and a subpackage (transport/memnet) also its parent and
// whatever its parent may; anything else is forbidden. The last column
// names the third-party modules a package is the only one to import, so
// that one package owns each external dependency. dag_test.go enforces
// this table, checks that it matches the one the test holds, and fails
// for a package without a row, so that a new package takes its place on
// purpose. The client library never depends on badger, even
// transitively, so that user binaries do not carry the storage engine.
// Every package may also import clock, the injected time, and version,
// the build's identity: leaves that import nothing of ours. chorustest,
// the tests' shared helpers, is imported by tests only (no row lists it).
//
//	package              may import                                 owns
//	clock                -                                          -
//	version              -                                          -
//	pace                 clock                                      golang.org/x/time/rate
//	silence              clock                                      -
//	chorustest           -                                          -
//	certs                -                                          -
//	vclock               -                                          -
//	ring                 -                                          -
//	backup               vclock                                     -
//	antientropy          vclock ring                                -
//	storage              vclock antientropy storage/vfs             github.com/dgraph-io/badger/v4
//	                     storage/commitlog
//	storage/vfs          -                                          -
//	storage/commitlog    storage/vfs                                -
//	sourceaddr           -                                          -
//	gossip               sourceaddr                                 github.com/hashicorp/memberlist
//	hints                vclock storage pace                        -
//	replica              vclock ring silence                        -
//	repair               vclock ring antientropy pace               -
//	handoff              vclock ring antientropy pace               -
//	transport/pb         -                                          -
//	transport            vclock ring transport/pb sourceaddr        -
//	client               vclock ring transport transport/pb silence -
//	auth                 -                                          -
//	server               vclock ring storage gossip antientropy     -
//	                     hints replica repair handoff transport
//	                     transport/pb transport/memnet certs auth
//	                     sourceaddr storage/vfs backup pace
//	server/localcluster  server                                     -
//	server/memcluster    server storage transport/memnet vclock     -
//	pbs                  -                                          -
//	nemesis              -                                          -
//	bench                client server server/localcluster          github.com/HdrHistogram/hdrhistogram-go
//	                     server/memcluster transport transport/pb
//	                     transport/memnet vclock ring pbs
//	                     bench/procstat
//	bench/chart          -                                          -
//	bench/plots          bench bench/chart                          gonum.org/v1/plot
//	bench/etcdtarget     bench                                      go.etcd.io/etcd/client/v3
//	bench/procs          client certs                               -
//	bench/procstat       -                                          -
//	nemesis/netfault     -                                          -
//	nemesis/inject       nemesis/netfault                           -
//	nemesis/compose      nemesis/netfault certs                     -
//	nemesis/runner       nemesis nemesis/inject nemesis/netfault    -
//	                     nemesis/compose bench/procs bench/plots
//	                     certs
//	deploy/k8s           -                                          k8s.io/api
//	cmd                  auth server server/localcluster client     -
//	                     bench bench/etcdtarget bench/plots
//	                     bench/procs pbs vclock certs nemesis
//	                     nemesis/inject nemesis/runner
//	                     nemesis/compose backup
//
// Protocol rules live in the package that owns them, as code testable
// without a node: hint routing in hints, partition handoff and dropping
// handed-off copies in handoff, exchange pairs, tombstone collection
// targets and the downtime check in repair. server only wires them and
// serves the APIs; cmd only parses flags and prints.
package chorus
