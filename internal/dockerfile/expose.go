package dockerfile

import (
	"sort"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// maxExposeRange bounds a port range: every port becomes an entry of the
// image record stored in a commit description, which must stay small.
const maxExposeRange = 1024

// exposeCmd expands each port (with word splitting, as Docker does for
// EXPOSE) and validates it: "port", "port/proto" or "first-last/proto",
// protocol tcp (default), udp or sctp.
func (s *state) exposeCmd(c *instructions.ExposeCommand, line int, step *Step) bool {
	var ports []string
	for _, raw := range c.Ports {
		words, err := s.x.words(raw, &s.env)
		if err != nil {
			s.failBuildKit(line, err)
			return false
		}
		for _, w := range words {
			ps, msg, advice := parseExposedPort(w)
			if msg != "" {
				s.fail(line, msg, advice)
				return false
			}
			ports = append(ports, ps...)
		}
	}
	if len(ports) == 0 {
		s.fail(line, "EXPOSE has no port after variable expansion", "write a port such as EXPOSE 3000 or EXPOSE 53/udp")
		return false
	}
	mine := map[string]bool{}
	for _, p := range ports {
		s.ports[p] = true
		mine[p] = true
	}
	step.Normalized = "EXPOSE " + strings.Join(sortPorts(mine), " ")
	return true
}

// parseExposedPort returns the "port/proto" entries one EXPOSE word stands
// for, or a message and advice saying what is wrong with it.
func parseExposedPort(w string) (ports []string, msg, advice string) {
	const portAdvice = "write a container port such as 3000, 3000/tcp, 53/udp or 8000-8010/tcp"
	if strings.Contains(w, ":") {
		return nil, "EXPOSE " + w + ": publishing to a host address or port is not supported by the Vers builder", "EXPOSE takes container ports only; " + portAdvice
	}
	spec, proto, hasProto := strings.Cut(w, "/")
	proto = strings.ToLower(proto)
	if !hasProto {
		proto = "tcp"
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return nil, "EXPOSE " + w + ": unknown protocol " + strconv.Quote(proto), "use tcp, udp or sctp"
	}
	first, last, isRange := strings.Cut(spec, "-")
	lo, ok := portNumber(first)
	hi := lo
	if ok && isRange {
		hi, ok = portNumber(last)
	}
	if !ok || hi < lo {
		return nil, "EXPOSE " + w + ": invalid port", portAdvice + " (ports are 1-65535)"
	}
	if hi-lo+1 > maxExposeRange {
		return nil, "EXPOSE " + w + ": a range of more than " + strconv.Itoa(maxExposeRange) + " ports is not supported by the Vers builder", "expose the ports the service listens on"
	}
	for p := lo; p <= hi; p++ {
		ports = append(ports, strconv.Itoa(p)+"/"+proto)
	}
	return ports, "", ""
}

func portNumber(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || s[0] == '+' {
		return 0, false
	}
	return n, true
}

// sortPorts orders "port/proto" entries by port number, then protocol.
func sortPorts(set map[string]bool) []string {
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		pi, qi, _ := strings.Cut(out[i], "/")
		pj, qj, _ := strings.Cut(out[j], "/")
		ni, _ := strconv.Atoi(pi)
		nj, _ := strconv.Atoi(pj)
		if ni != nj {
			return ni < nj
		}
		if qi != qj {
			return qi < qj
		}
		return out[i] < out[j]
	})
	return out
}
