package mailer

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"herald/mailer/smtptest"
)

// BenchmarkPoolDeliver sends newsletters of about 20 KB one after another
// over one pooled connection to a discarding go-smtp server in a process
// of its own, so that the CPU time it reports a message is the SMTP
// client's alone: the message is encoded once, before it starts.
func BenchmarkPoolDeliver(b *testing.B) {
	srv := smtptest.StartProcess(b)
	p := NewPool(SMTPRelay{Host: srv.Host(), Port: srv.Port(), TLS: TLSNone, Timeout: 10 * time.Second}, 1)
	defer p.Close()
	msg := testMessage()
	msg.HTML = twentyKB(false)
	msg.Text = strings.Repeat("A line of the plain text alternative, as long as most of them are.\n", 10)
	data := msg.Bytes()
	to := msg.To.Address
	// The first message dials; the benchmark is of the ones after it.
	if _, err := p.Deliver(b.Context(), testFrom, to, data); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	before := cpuTime()
	for range b.N {
		if _, err := p.Deliver(b.Context(), testFrom, to, data); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - before
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/msg")
	if got := srv.Count(); got != b.N+1 {
		b.Fatalf("delivered: got %d, want %d", got, b.N+1)
	}
}

// cpuTime is the CPU time the process has used, user and system: the
// sender's cost per message, whatever else the machine is doing.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
