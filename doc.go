// Package chorus is the root of Chorus, a Dynamo-style, leaderless,
// eventually consistent key-value store. The code lives in the packages
// below this one; this package holds only repository-wide tests, such as
// the check that package imports follow the dependency table.
package chorus
