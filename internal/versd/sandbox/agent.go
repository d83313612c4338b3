package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"
)

// agentEnv marks a process as a VM's agent (runc starts it as the VM's
// init); sftpEnv marks the SFTP server the agent starts for a session.
const (
	agentEnv = "VERSD_SANDBOX_AGENT"
	sftpEnv  = "VERSD_SANDBOX_SFTP"
)

// agentReady is the agent's first message on the control socket once it
// serves requests; anything else is an error message.
const agentReady = "ready"

// agentControlFD is the control socket, passed through runc --preserve-fds.
const agentControlFD = 3

// init turns this process into a VM's agent or SFTP server when it was
// started as one. It runs before main (or a test binary's test main), so
// every binary that imports the package can serve VMs.
func init() {
	if _, ok := os.LookupEnv(agentEnv); ok {
		os.Exit(runAgent())
	}
	if _, ok := os.LookupEnv(sftpEnv); ok {
		os.Exit(runSFTPServer())
	}
}

func runAgent() int {
	os.Unsetenv(agentEnv)
	// Not dumpable: /proc/1/{mem,environ,maps,root} become host root's, which
	// the VM's user namespace cannot reach. Commands the agent starts are
	// dumpable again after their execve.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "prctl:", err)
		return 1
	}
	// As PID 1 the agent gets only signals it handles; handling the fatal
	// ones (and dropping them) keeps `kill -HUP 1` from ending the VM, while
	// children still start with default dispositions.
	signal.Notify(make(chan os.Signal, 1), unix.SIGHUP, unix.SIGINT, unix.SIGTERM, unix.SIGQUIT,
		unix.SIGUSR1, unix.SIGUSR2, unix.SIGPIPE, unix.SIGALRM, unix.SIGPROF, unix.SIGVTALRM)
	f := os.NewFile(agentControlFD, "control")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "control socket:", err)
		return 1
	}
	control := conn.(*net.UnixConn)
	hostname, _ := os.Hostname()
	a := &agent{hostname: hostname, waiters: map[int]chan unix.WaitStatus{}}
	// Register for SIGCHLD before any child exists, so no exit goes unseen.
	sigchld := make(chan os.Signal, 16)
	signal.Notify(sigchld, unix.SIGCHLD)
	go a.reap(sigchld)
	if _, err := control.Write([]byte(agentReady)); err != nil {
		return 1
	}
	a.serve(control)
	// versd is gone or stops the VM: take every process with us.
	_ = unix.Kill(-1, unix.SIGKILL)
	return 0
}

// agent serves one VM from inside it, as its init.
type agent struct {
	hostname string
	// mu guards waiters and is held across process start and reaping, so a
	// child that exits at once is still matched to its waiter.
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
}

// reap collects every exited child. As PID 1 the agent inherits orphans,
// which must be reaped or they stay zombies; exits of processes the agent
// started go to their waiter.
func (a *agent) reap(sigchld <-chan os.Signal) {
	for range sigchld {
		a.mu.Lock()
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
			if c, ok := a.waiters[pid]; ok {
				c <- ws
				delete(a.waiters, pid)
			}
		}
		a.mu.Unlock()
	}
}

// start starts a process and registers its waiter.
func (a *agent) start(prog string, argv []string, attr *os.ProcAttr) (int, <-chan unix.WaitStatus, error) {
	exited := make(chan unix.WaitStatus, 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	proc, err := os.StartProcess(prog, argv, attr)
	if err != nil {
		return 0, nil, err
	}
	pid := proc.Pid
	a.waiters[pid] = exited
	_ = proc.Release() // the reaper waits for it, not os.Process (Release clears Pid)
	return pid, exited, nil
}

// serve receives one connection per request over the control socket until
// the Manager closes it.
func (a *agent) serve(control *net.UnixConn) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4*8))
	for {
		_, oobn, _, _, err := control.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			continue
		}
		for _, msg := range msgs {
			fds, err := unix.ParseUnixRights(&msg)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				go a.handle(fd)
			}
		}
	}
}

func (a *agent) handle(fd int) {
	f := os.NewFile(uintptr(fd), "request")
	defer f.Close()
	conn, err := net.FileConn(f)
	if err != nil {
		return
	}
	defer conn.Close()
	kind, payload, err := readFrame(conn)
	if err != nil || kind != frameRequest {
		return
	}
	var req request
	if err := json.Unmarshal(payload, &req); err != nil {
		writeJSONFrame(conn, frameExit, response{ExitCode: -1, Error: "bad request: " + err.Error()})
		return
	}
	var opErr error
	switch req.Op {
	case "exec":
		if req.Exec == nil || len(req.Exec.Command) == 0 {
			opErr = errNoCommand
			break
		}
		a.exec(conn, *req.Exec)
		return
	case "sftp":
		a.sftp(f)
		return
	case "dial":
		if req.Dial == nil {
			opErr = errors.New("dial needs a host and port")
			break
		}
		a.dial(conn, *req.Dial)
		return
	case "sync":
		unix.Sync()
	default:
		opErr = fmt.Errorf("unknown operation %q", req.Op)
	}
	resp := response{}
	if opErr != nil {
		resp = response{ExitCode: -1, Error: opErr.Error()}
	}
	writeJSONFrame(conn, frameExit, resp)
}

// sftp serves SFTP on the rest of the connection from a separate process:
// an ordinary process of the VM, with the VM's root user, capabilities and
// view of the filesystem, so a client can do nothing over SFTP that a
// command in the VM could not.
func (a *agent) sftp(conn *os.File) {
	argv := agentArgs(fileExists(agentMountPoint + "/ld.so"))
	_, exited, err := a.start(argv[0], argv, &os.ProcAttr{
		Dir:   "/",
		Env:   []string{"PATH=" + defaultPath, "HOME=/root", sftpEnv + "=1"},
		Files: []*os.File{conn, conn, nil},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the sftp server:", err)
		return
	}
	conn.Close()
	<-exited
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// runSFTPServer is the in-VM SFTP server: stdin and stdout are the
// connection to the client.
func runSFTPServer() int {
	os.Unsetenv(sftpEnv)
	server, err := sftp.NewServer(struct {
		io.Reader
		io.WriteCloser
	}{os.Stdin, os.Stdout})
	if err != nil {
		return 1
	}
	if err := server.Serve(); err != nil && err != io.EOF {
		return 1
	}
	return 0
}
