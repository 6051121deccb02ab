package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every Linux
// the project runs on (getconf CLK_TCK).
const clockTicks = 100

// procs watches the CPU time and resident memory of the processes of the stack: the services
// and nats-server by pid (from bench.sh), redis-server and postgres by name (postgres: all its
// processes, shared with anything else using that server). A phase reports the cores each kept
// busy on average and the peak RSS sampled during it.
type procs struct {
	named map[string]int // name -> pid
	order []string

	mu     sync.Mutex
	phase  *phaseStat
	cancel context.CancelFunc
	done   chan struct{}
}

// procUsage is one process group over one phase.
type procUsage struct {
	Cores     float64 `json:"cores"`
	PeakRSSMB float64 `json:"peakRssMiB,omitempty"`
}

// phaseUsage is what the stack used during one phase of the benchmark.
type phaseUsage struct {
	Phase   string               `json:"phase"`
	Seconds float64              `json:"seconds"`
	Procs   map[string]procUsage `json:"processes"`
}

type phaseStat struct {
	name   string
	start  time.Time
	ticks0 map[string]uint64
	peak   map[string]uint64 // kB
}

// parsePids reads "tracking=123,notification=456".
func parsePids(s string) (map[string]int, []string, error) {
	m := map[string]int{}
	var order []string
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		pid, err := strconv.Atoi(v)
		if !ok || err != nil || pid <= 0 {
			return nil, nil, fmt.Errorf("-pids: %q is not name=pid", kv)
		}
		m[k] = pid
		order = append(order, k)
	}
	return m, order, nil
}

func newProcs(named map[string]int, order []string) *procs {
	named["loadgen"] = os.Getpid()
	p := &procs{named: named, order: append(order, "redis-server", "postgres", "loadgen")}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go p.sample(ctx)
	return p
}

func (p *procs) stop() {
	p.cancel()
	<-p.done
}

// pids of a group: the named pid, or every process whose command is the group's name.
func (p *procs) pids(name string) []int {
	if pid, ok := p.named[name]; ok {
		return []int{pid}
	}
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		comm, err := os.ReadFile(d + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// ticks is utime + stime of pid.
func ticks(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command may contain spaces; fields count from after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return u + s
}

// rssKB is VmRSS of pid.
func rssKB(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func (p *procs) groupTicks() map[string]uint64 {
	out := map[string]uint64{}
	for _, name := range p.order {
		for _, pid := range p.pids(name) {
			out[name] += ticks(pid)
		}
	}
	return out
}

// sample records each process's RSS every 250 ms into the current phase's peaks. postgres is
// left out: its processes share their buffers, so a sum of their RSS means little.
func (p *procs) sample(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	redis := p.pids("redis-server")
	for {
		p.mu.Lock()
		if ph := p.phase; ph != nil {
			for _, name := range p.order {
				var kb uint64
				switch name {
				case "postgres":
					continue
				case "redis-server":
					for _, pid := range redis {
						kb += rssKB(pid)
					}
				default:
					kb = rssKB(p.named[name])
				}
				ph.peak[name] = max(ph.peak[name], kb)
			}
		}
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// begin starts a phase; end reports it.
func (p *procs) begin(name string) {
	ph := &phaseStat{name: name, start: time.Now(), ticks0: p.groupTicks(), peak: map[string]uint64{}}
	p.mu.Lock()
	p.phase = ph
	p.mu.Unlock()
}

func (p *procs) end() phaseUsage {
	t1 := p.groupTicks()
	p.mu.Lock()
	ph := p.phase
	p.phase = nil
	p.mu.Unlock()
	if ph == nil {
		return phaseUsage{}
	}
	secs := time.Since(ph.start).Seconds()
	u := phaseUsage{Phase: ph.name, Seconds: secs, Procs: map[string]procUsage{}}
	for _, name := range p.order {
		d := float64(t1[name]) - float64(ph.ticks0[name])
		u.Procs[name] = procUsage{Cores: max(d, 0) / clockTicks / secs, PeakRSSMB: float64(ph.peak[name]) / 1024}
	}
	return u
}

func (p *procs) names() []string { return slices.Clone(p.order) }
