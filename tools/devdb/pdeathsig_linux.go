//go:build linux

package main

import "syscall"

// init asks the kernel to send SIGTERM when our parent dies, which then takes
// the normal clean-shutdown path. It runs during package init, i.e. on the main
// OS thread (the runtime locks the main goroutine to it during init), which
// lives as long as the process; the attribute is per thread, and the kernel
// checks every thread of an orphaned child. The signal fires when the parent
// *thread* that forked us exits: for Node/Bun that is the main thread, i.e. the
// process. A parent dying before this line runs (a few ms into startup) is not
// detected; -watch-stdin covers that case too.
func init() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
}
