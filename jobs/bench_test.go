package jobs_test

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/jobs"
)

// TestRefreshRequestBudgetAt5000 checks the request budget of a refresh at the size the
// product targets: at most ⌈N/100⌉+1 GraphQL requests for N known repositories.
func TestRefreshRequestBudgetAt5000(t *testing.T) {
	if raceEnabled {
		t.Skip("5,000 repositories under the race detector take minutes; make test runs this test without -race")
	}
	const n = 5000
	p := newPipeline(t, jobs.Config{}, generate(n, "k8s-at-home", 9)...)
	p.run(t, jobs.JobDiscover)
	p.gh.ResetStats()
	counts, run := p.run(t, jobs.JobRefresh)
	budget := int(math.Ceil(n/100.0)) + 1
	if got := p.gh.Stats().GraphQL; got > budget || counts["updated"] != n {
		t.Fatalf("refresh of %d repos: %d GraphQL requests (budget %d), %d updated", n, got, budget, counts["updated"])
	}
	t.Logf("refresh of %d repos: %d requests, %d points", n, run.GraphQLRequests, run.GraphQLPoints)
}

// BenchmarkDiscoverRefresh5000 is a full discover plus refresh of 5,000 repositories
// against the fake GitHub, on a fresh database each time. It reports the GraphQL
// requests and points spent and the peak Go heap (sampled), alongside wall time.
func BenchmarkDiscoverRefresh5000(b *testing.B) {
	repos := generate(5000, "k8s-at-home", 10)
	for b.Loop() {
		b.StopTimer()
		p := newPipeline(b, jobs.Config{}, repos...)
		stop := make(chan struct{})
		peak := make(chan uint64)
		go samplePeak(stop, peak)
		b.StartTimer()
		_, d := p.run(b, jobs.JobDiscover)
		_, r := p.run(b, jobs.JobRefresh)
		b.StopTimer()
		close(stop)
		b.ReportMetric(float64(d.GraphQLRequests+r.GraphQLRequests), "requests/op")
		b.ReportMetric(float64(d.GraphQLPoints+r.GraphQLPoints), "points/op")
		b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MiB")
		b.StartTimer()
	}
	// The process's peak RSS, fake GitHub and test data included: an upper bound.
	if st, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
				kb, _ := strconv.Atoi(f[1])
				b.ReportMetric(float64(kb)/1024, "peak-RSS-MiB")
			}
		}
	}
}

func samplePeak(stop <-chan struct{}, out chan<- uint64) {
	var peak uint64
	var ms runtime.MemStats
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		select {
		case <-stop:
			out <- peak
			return
		case <-t.C:
		}
	}
}
