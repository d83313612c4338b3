package versd

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// 3000 idle connections to the SSH gateway do not stop /health or the API:
// before the caps, 20 000 of them exhausted versd's file descriptors.
func TestHealthAnswersDuringAGatewayFlood(t *testing.T) {
	s := startTest(t, "")
	c := newClient(t, s)
	vm := c.newRoot()
	stop := make(chan struct{})
	var conns []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := net.DialTimeout("tcp", s.SSHAddress, time.Second)
				if err != nil {
					continue
				}
				mu.Lock()
				conns = append(conns, conn)
				mu.Unlock()
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
		for _, conn := range conns {
			conn.Close()
		}
	}()
	hc := &http.Client{Timeout: 5 * time.Second}
	var worst time.Duration
	for range 40 {
		start := time.Now()
		resp, err := hc.Get(s.URL + "/health")
		if err != nil {
			t.Fatalf("/health during the flood: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/health during the flood: %d", resp.StatusCode)
		}
		worst = max(worst, time.Since(start))
		time.Sleep(25 * time.Millisecond)
	}
	wg.Wait()
	if worst > time.Second {
		t.Fatalf("/health took up to %v during the flood", worst)
	}
	c.execOK(vm, "true")
	total, _ := s.gateway.Open()
	t.Logf("flood: %d connections attempted, gateway holds %d, slowest /health %v", len(conns), total, worst)
}
