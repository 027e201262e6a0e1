// Package procstat reads what Linux reports of a process under /proc: the
// CPU time it has used (utime and stime of /proc/<pid>/stat) and its
// resident set, current and peak (VmRSS and VmHWM of /proc/<pid>/status).
// The benchmarks use it to charge the servers they started with the CPU
// and memory a run cost them, without asking the servers.
//
// # Guarantees
//
//   - ParseStat and ParseStatus accept the kernel's text and nothing
//     that would make them misreport: a line or field they need that is
//     missing, malformed or out of range is an error, never a zero. They
//     never panic, whatever the input (FuzzParseStat, FuzzParseStatus).
//   - A process's CPU time is that of all its threads, those that have
//     exited included (the kernel sums them in the thread group's stat),
//     in units of 10 ms (USER_HZ).
//   - Where there is no /proc (any system but Linux), the Read functions
//     fail with an error wrapping ErrUnsupported, so that a caller can say
//     "not measured" rather than report a zero; Supported says so up
//     front.
package procstat
