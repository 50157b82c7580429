package automations

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"herald/store"
)

// BenchmarkFlowTagSendTag: 10,000 contacts enter a flow of tag, email and
// tag at once, and the engine moves every one to the end: each tag given,
// each email queued in the outbox with the move past its step. It reports
// contacts a second from the entry to the last journey's end, and the CPU
// each took.
//
//	go test ./scheduler/automations -run '^$' -bench FlowTagSendTag -benchtime 3x
func BenchmarkFlowTagSendTag(b *testing.B) {
	const contacts = 10000
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b)
		a := f.automation(b, store.Trigger{Kind: store.TriggerManual}, store.Entry{}, "",
			store.Step{Kind: store.StepAddTag, Tag: "new"},
			store.Step{Kind: store.StepEmail, TemplateID: f.template.ID},
			store.Step{Kind: store.StepAddTag, Tag: "welcomed"})
		ids := make([]int64, contacts)
		for i := range ids {
			ids[i] = f.contact(b, "c"+strconv.Itoa(i)+"@example.com", false)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		if res, err := f.e.Enroll(ctx, a.ID, ids, "bench"); err != nil || res.Entered != contacts {
			b.Fatalf("enroll: %+v %v", res, err)
		}
		for {
			full, err := f.e.Pass(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if !full {
				break
			}
		}
		elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
		b.StopTimer()
		got, err := f.st.Automation(ctx, a.ID)
		if err != nil || got.Completed != contacts {
			b.Fatalf("completed %d (%v), want %d", got.Completed, err, contacts)
		}
		b.ReportMetric(contacts/elapsed.Seconds(), "contacts/s")
		b.ReportMetric(float64(cpu.Microseconds())/contacts, "cpu-µs/contact")
		b.StartTimer()
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
