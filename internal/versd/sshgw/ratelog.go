package sshgw

import (
	"sync"
	"time"
)

// rateLimitedLog passes at most burst lines per window to logf and then
// counts what it dropped, reporting the count with the next line it passes.
// A flood of failed handshakes produced one log line each (21 000 in one
// test) before.
type rateLimitedLog struct {
	logf   func(string, ...any)
	burst  int
	window time.Duration

	mu          sync.Mutex
	windowStart time.Time
	inWindow    int
	suppressed  int
}

func newRateLimitedLog(logf func(string, ...any), burst int, window time.Duration) *rateLimitedLog {
	return &rateLimitedLog{logf: logf, burst: burst, window: window}
}

func (l *rateLimitedLog) printf(format string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.windowStart) >= l.window {
		l.windowStart, l.inWindow = now, 0
	}
	if l.inWindow >= l.burst {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	l.inWindow++
	suppressed := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	if suppressed > 0 {
		l.logf("sshgw: %d similar connection failures not logged (rate limit)", suppressed)
	}
	l.logf(format, args...)
}
