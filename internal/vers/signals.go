package vers

import (
	"fmt"

	"golang.org/x/crypto/ssh"
)

// SignalError is a remote command that a signal killed: the SSH server
// sent exit-signal (RFC 4254 §6.10) instead of an exit status.
type SignalError struct {
	VMID   string
	Signal string // without "SIG", as SSH names it: "KILL"
}

// signalError is the SignalError of an exit error that carries a signal.
func signalError(vmID string, e *ssh.ExitError) *SignalError {
	return &SignalError{VMID: vmID, Signal: e.Signal()}
}

func (e *SignalError) Error() string {
	msg := fmt.Sprintf("ssh to VM %s: command killed by signal %s", e.VMID, e.Signal)
	if hint := SignalHint(e.Signal); hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

// linuxSignals are the Linux signal names by number (the VMs run Linux,
// whatever the client runs on).
var linuxSignals = [...]string{1: "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
	"SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
	"XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"}

// SignalOfExitCode returns the signal a shell means by exit code 128+n,
// or "" when code is not of that form. The exec API reports a killed
// command that way; a program can also exit with such a code by itself, so
// callers say "as a shell reports", not "was killed".
func SignalOfExitCode(code int) string {
	if n := code - 128; n > 0 && n < len(linuxSignals) {
		return linuxSignals[n]
	}
	return ""
}

// SignalHint says what usually sends a signal to a build or provisioning
// command, or "" when nothing is typical.
func SignalHint(sig string) string {
	switch sig {
	case "KILL":
		return "out of memory? the kernel's OOM killer sends KILL; give the VM more mem_size_mib"
	case "SEGV", "BUS", "ILL", "FPE":
		return "the program crashed"
	case "ABRT":
		return "the program aborted itself, often a failed assertion"
	case "TERM", "INT", "HUP":
		return "stopped from outside: a timeout, a cancelled run, or by hand"
	case "XCPU":
		return "CPU time limit exceeded"
	case "XFSZ":
		return "file size limit exceeded"
	}
	return ""
}
