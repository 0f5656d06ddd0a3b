package jobs_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubestats/kubestats/githubql/githubtest"
	"github.com/kubestats/kubestats/jobs"
)

func peakRSSMiB() float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkSync500 syncs 500 generated repositories (about 30 apps, 100 objects each) through
// the fake GitHub end to end: download, scan, store. It then runs a second pass with no push
// and reports how many archives that downloaded (it must be none).
func BenchmarkSync500(b *testing.B) {
	repos := generate(500, "k8s-at-home", 11)
	for i := range repos {
		repos[i].Files = githubtest.GitOpsTree(i, 30)
		repos[i].DiskUsageKB = 1000
	}
	for b.Loop() {
		b.StopTimer()
		p := newPipeline(b, jobs.Config{SyncConcurrency: 2}, repos...)
		p.run(b, jobs.JobDiscover)
		stop := make(chan struct{})
		peak := make(chan uint64)
		go samplePeak(stop, peak)
		b.StartTimer()
		counts, run := p.run(b, jobs.JobSync)
		b.StopTimer()
		close(stop)
		if counts["synced"] != len(repos) {
			b.Fatalf("synced %d of %d (failed %d)", counts["synced"], len(repos), counts["failed"])
		}
		before := p.gh.Stats().Tarball
		again, _ := p.run(b, jobs.JobSync)
		b.ReportMetric(float64(p.gh.Stats().Tarball-before), "second-pass-downloads")
		b.ReportMetric(float64(again["due"]), "second-pass-due")
		b.ReportMetric(float64(counts["objects"])/run.FinishedAt.Sub(run.StartedAt).Seconds(), "objects/s")
		b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MiB")
		b.StartTimer()
	}
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// BenchmarkSyncHugeRepo syncs one repository whose archive holds 20 MB and 200 MB of YAML,
// generated while it streams. Peak heap must not grow with the archive: the sync streams.
func BenchmarkSyncHugeRepo(b *testing.B) {
	for _, mb := range []int{20, 200} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			repo := generate(1, "k8s-at-home", 12)[0]
			repo.DiskUsageKB = 1000
			repo.Files = nil
			body := strings.Repeat("      - name: item\n        value: \"a fairly ordinary configuration line\"\n", 100)
			const perFile = 10 << 10
			files := mb << 20 / perFile
			repo.Generate = func(w *githubtest.ArchiveWriter) error {
				for i := range files {
					doc := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%06d\n  namespace: ns-%03d\ndata:\n  list: |\n%s", i, i%100, body)
					doc = doc[:min(len(doc), perFile)]
					if err := w.WriteFile(fmt.Sprintf("kubernetes/generated/%03d/cm-%06d.yaml", i/1000, i), []byte(doc)); err != nil {
						return err
					}
				}
				return nil
			}
			for b.Loop() {
				b.StopTimer()
				p := newPipeline(b, jobs.Config{SyncConcurrency: 1}, repo)
				p.run(b, jobs.JobDiscover)
				stop := make(chan struct{})
				peak := make(chan uint64)
				go samplePeak(stop, peak)
				start := time.Now()
				b.StartTimer()
				counts, _ := p.run(b, jobs.JobSync)
				b.StopTimer()
				close(stop)
				if counts["synced"] != 1 || counts["objects"] != files {
					b.Fatalf("counts %v, want 1 synced with %d objects", counts, files)
				}
				b.ReportMetric(float64(mb)/time.Since(start).Seconds(), "MB/s")
				b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MiB")
				b.StartTimer()
			}
			b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
		})
	}
}
