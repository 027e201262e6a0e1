// Package chorustest holds what every package's tests share: Eventually
// (and EventuallyOK, whose condition says why it is not met yet), the one
// bounded poll for a condition that another goroutine makes true,
// and Rand, the one seeded source of randomness whose seed a failing test
// reports (and CHORUS_SEED replays).
//
// It imports only the standard library and testing, so that the tests of
// every package, the leaves included, may use it; production code never
// does (the import table in dag_test.go gives it no importer).
package chorustest
