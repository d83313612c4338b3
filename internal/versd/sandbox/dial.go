package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// dialTimeout bounds a connection attempt inside the VM.
const dialTimeout = 10 * time.Second

// Dial opens a TCP connection from inside the VM to host:port, as a process
// of the VM would: "localhost" and 127.0.0.1 are the VM's own loopback, and
// since the VM has a network namespace of its own with nothing but
// loopback, nothing of the host can be reached. The agent makes the
// connection and hands the socket over, so traffic then flows without the
// agent in the middle.
func (m *Manager) Dial(ctx context.Context, id, host string, port int) (net.Conn, error) {
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("sandbox: port %d out of range", port)
	}
	v, err := m.running(id)
	if err != nil {
		return nil, err
	}
	if v.isPaused() {
		return nil, fmt.Errorf("sandbox: VM %s: %w", id, ErrPaused)
	}
	conn, err := v.open()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stopWatch := context.AfterFunc(ctx, func() { conn.Close() })
	defer stopWatch()
	if err := writeJSONFrame(conn, frameRequest, request{Op: "dial", Dial: &dialSpec{Host: host, Port: port}}); err != nil {
		return nil, m.execError(ctx, v, err)
	}
	kind, payload, err := readFrame(conn)
	if err != nil {
		return nil, m.execError(ctx, v, err)
	}
	if kind != frameExit {
		return nil, fmt.Errorf("sandbox: VM %s: dial: unexpected frame %q", id, kind)
	}
	var resp response
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("sandbox: VM %s: %s", id, resp.Error)
	}
	// The socket follows as one byte with the descriptor attached.
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.(*net.UnixConn).ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, m.execError(ctx, v, err)
	}
	fd, err := singleFD(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("sandbox: VM %s: dial: %w", id, err)
	}
	f := os.NewFile(uintptr(fd), "vm-tcp")
	defer f.Close()
	return net.FileConn(f)
}

func singleFD(oob []byte) (int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, err
	}
	for _, msg := range msgs {
		fds, err := unix.ParseUnixRights(&msg)
		if err != nil {
			continue
		}
		for _, extra := range fds[min(1, len(fds)):] {
			unix.Close(extra)
		}
		if len(fds) > 0 {
			return fds[0], nil
		}
	}
	return -1, errors.New("no socket received")
}

// dial runs in the agent, inside the VM's namespaces.
func (a *agent) dial(conn net.Conn, spec dialSpec) {
	c, err := dialInVM(spec.Host, spec.Port)
	if err != nil {
		writeJSONFrame(conn, frameExit, response{ExitCode: -1, Error: err.Error()})
		return
	}
	defer c.Close()
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		writeJSONFrame(conn, frameExit, response{ExitCode: -1, Error: err.Error()})
		return
	}
	defer f.Close()
	if err := writeJSONFrame(conn, frameExit, response{}); err != nil {
		return
	}
	_, _, _ = conn.(*net.UnixConn).WriteMsgUnix([]byte{0}, unix.UnixRights(int(f.Fd())), nil)
}

// dialInVM connects with the VM's own view of names: its /etc/hosts, and
// "localhost" as the loopback even when the image has no /etc/hosts.
func dialInVM(host string, port int) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	p := strconv.Itoa(port)
	if host == "" || host == "localhost" {
		c, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", p))
		if err == nil {
			return c, nil
		}
		if c6, err6 := d.Dial("tcp", net.JoinHostPort("::1", p)); err6 == nil {
			return c6, nil
		}
		return nil, fmt.Errorf("connecting to localhost:%s in the VM: %w", p, err)
	}
	c, err := d.Dial("tcp", net.JoinHostPort(host, p))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s in the VM: %w", net.JoinHostPort(host, p), err)
	}
	return c, nil
}
