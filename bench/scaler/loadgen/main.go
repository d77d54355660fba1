// The load generator of bench:scaler (bench/scaler.ts): KEDA's GetMetrics calls on one gRPC connection (KEDA keeps
// one per scaler address, and its client is grpc-go too), from a process of its own on one thread, so that the
// server under test keeps the CPU a client inside the benchmark's Node process took. The messages of
// externalscaler.proto are encoded and decoded with protowire through a codec that passes bytes: no generated stubs.
//
// The requests come on stdin as JSON: {"requests": [{"name", "namespace", "scalerMetadata": {...}, "metricName",
// "expect": number | null}]}, each encoded once. An answer is wrong when it has no metric value, its first metric's
// name is not the one asked for, or (with `expect`) its metricValueFloat is not `expect`.
//
//	-mode open:   calls due at fixed intervals at -rate calls/s over the requests in turn for -seconds, each timed
//	              from when it was due (no coordinated omission); sending stops when more than -max-backlog seconds
//	              of calls wait for answers (carried: false).
//	-mode closed: -concurrency calls in flight (call k asks for request k mod n, and is followed at once by the
//	              next of the same request), -warmup seconds, then -seconds measured: answers per second.
//
// A call not answered within -deadline fails (DEADLINE_EXCEEDED); failures are counted by code. One JSON line on
// stdout: the mode and its settings; open: sent, ok, failed, carried, sendingSeconds, sentPerSecond,
// answeredPerSecond, p50Ms..maxMs (from due to answer), fromSendP50Ms and fromSendP99Ms (from sent to answer),
// sendLagP99Ms and sendLagMaxMs (how late this program sent: Go's timers wake up to about 1 ms late), loadgenWorkers; closed: calls, callsPerSecond, failed, p50Ms, p99Ms, maxMs (per call); both: wrong, firstWrong,
// loadgenCpuSeconds and, with -watch-pid, serverCpuSeconds, serverCpuCores, serverCpuMsPerCall (per answer).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

const getMetrics = "/externalscaler.ExternalScaler/GetMetrics"

// Request is one workload's GetMetricsRequest as the bench gives it.
type Request struct {
	Name           string            `json:"name"`
	Namespace      string            `json:"namespace"`
	ScalerMetadata map[string]string `json:"scalerMetadata"`
	MetricName     string            `json:"metricName"`
	Expect         *float64          `json:"expect"`
}

// encodeRequest: GetMetricsRequest { ScaledObjectRef scaledObjectRef = 1 { string name = 1; string namespace = 2;
// map<string, string> scalerMetadata = 3 }; string metricName = 2 }, map entries in key order.
func encodeRequest(r Request) []byte {
	var ref []byte
	ref = appendString(ref, 1, r.Name)
	ref = appendString(ref, 2, r.Namespace)
	keys := make([]string, 0, len(r.ScalerMetadata))
	for k := range r.ScalerMetadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// A map entry is a message { key = 1; value = 2 }, written even when empty (as protobuf's encoders do).
		var entry []byte
		entry = protowire.AppendTag(entry, 1, protowire.BytesType)
		entry = protowire.AppendString(entry, k)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendString(entry, r.ScalerMetadata[k])
		ref = protowire.AppendTag(ref, 3, protowire.BytesType)
		ref = protowire.AppendBytes(ref, entry)
	}
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendBytes(out, ref)
	return appendString(out, 2, r.MetricName)
}

// appendString leaves out an empty string, as proto3 does for a default value.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// Reply is the part of GetMetricsResponse { repeated MetricValue metricValues = 1 } checked: its count and the
// first MetricValue { string metricName = 1; int64 metricValue = 2; double metricValueFloat = 3 }.
type Reply struct {
	Values     int
	MetricName string
	Value      int64
	ValueFloat float64
}

func decodeReply(b []byte, r *Reply) error {
	*r = Reply{}
	var inner error
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte) int {
		if num != 1 || typ != protowire.BytesType {
			return protowire.ConsumeFieldValue(num, typ, v)
		}
		value, m := protowire.ConsumeBytes(v)
		if m >= 0 {
			r.Values++
			if r.Values == 1 {
				inner = decodeMetricValue(value, r)
			}
		}
		return m
	})
	if err != nil {
		return err
	}
	return inner
}

func decodeMetricValue(b []byte, r *Reply) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte) int {
		switch {
		case num == 1 && typ == protowire.BytesType:
			s, m := protowire.ConsumeString(v)
			r.MetricName = s
			return m
		case num == 2 && typ == protowire.VarintType:
			x, m := protowire.ConsumeVarint(v)
			r.Value = int64(x)
			return m
		case num == 3 && typ == protowire.Fixed64Type:
			x, m := protowire.ConsumeFixed64(v)
			r.ValueFloat = math.Float64frombits(x)
			return m
		}
		return protowire.ConsumeFieldValue(num, typ, v)
	})
}

// fields calls f for each field of a message with its number, wire type and the bytes from its value on; f returns
// the length of the value it consumed (negative: protowire's error).
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte) int) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		m := f(num, typ, b[n:])
		if m < 0 {
			return protowire.ParseError(m)
		}
		b = b[n+m:]
	}
	return nil
}

// bytesCodec sends pre-encoded requests and decodes replies into a *Reply. Named "proto": the content type is
// application/grpc+proto, as a generated client's.
type bytesCodec struct{}

func (bytesCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return nil, fmt.Errorf("bytesCodec cannot marshal %T", v)
}

func (bytesCodec) Unmarshal(data []byte, v any) error {
	if r, ok := v.(*Reply); ok {
		return decodeReply(data, r)
	}
	return fmt.Errorf("bytesCodec cannot unmarshal into %T", v)
}

func (bytesCodec) Name() string { return "proto" }

type workload struct {
	request Request
	body    []byte
}

// check returns "" for a right answer, else what is wrong.
func (w *workload) check(r *Reply) string {
	switch {
	case r.Values == 0:
		return "no metric value"
	case w.request.MetricName != "" && r.MetricName != w.request.MetricName:
		return fmt.Sprintf("metric %q, asked for %q", r.MetricName, w.request.MetricName)
	case w.request.Expect != nil && r.ValueFloat != *w.request.Expect:
		return fmt.Sprintf("metricValueFloat %v, expected %v", r.ValueFloat, *w.request.Expect)
	}
	return ""
}

type client struct {
	conn      *grpc.ClientConn
	workloads []workload
	deadline  time.Duration
	wrong     atomic.Int64
	firstMu   sync.Mutex
	first     string
}

// call makes one GetMetrics call of workload i: its code (OK for an answer, right or wrong).
func (c *client) call(i int) codes.Code {
	w := &c.workloads[i]
	ctx, cancel := context.WithTimeout(context.Background(), c.deadline)
	defer cancel()
	var reply Reply
	if err := c.conn.Invoke(ctx, getMetrics, w.body, &reply); err != nil {
		return status.Code(err)
	}
	if problem := w.check(&reply); problem != "" {
		if c.wrong.Add(1) == 1 {
			c.firstMu.Lock()
			c.first = fmt.Sprintf("%s/%s: %s", w.request.Namespace, w.request.Name, problem)
			c.firstMu.Unlock()
		}
	}
	return codes.OK
}

// cpuSeconds of this process (user + system).
func cpuSeconds() float64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return math.NaN()
	}
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e9
}

// pidCPUSeconds: utime + stime of another process from /proc (the server under test), -1 without one.
func pidCPUSeconds(pid int, ticks float64) float64 {
	if pid <= 0 {
		return -1
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return math.NaN()
	}
	text := string(stat)
	// The fields after the command name (which may hold spaces): state is the first, utime the 12th, stime the 13th.
	fields := strings.Fields(text[strings.LastIndexByte(text, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / ticks
}

// quantile of sorted durations, nearest rank, in ms rounded to 0.01 (nil when there are none).
func quantile(sorted []time.Duration, q float64) *float64 {
	if len(sorted) == 0 {
		return nil
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	k = max(0, min(len(sorted)-1, k))
	ms := math.Round(float64(sorted[k])/1e4) / 100
	return &ms
}

func round(v float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(v*f) / f
}

// codeNames: the canonical names of the gRPC codes (grpc-go's String() spells them NotFound etc.), as grpc-js and
// the scaler's metrics write them.
var codeNames = []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
	"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

func codeName(code codes.Code) string {
	if int(code) < len(codeNames) {
		return codeNames[code]
	}
	return strconv.Itoa(int(code))
}

// counts: failed calls by code name.
type counts map[string]int

func (c counts) add(code codes.Code) {
	if code != codes.OK {
		c[codeName(code)]++
	}
}

type options struct {
	rate, seconds, warmup, maxBacklog float64
	concurrency, watchPid             int
	tick                              time.Duration
	ticks                             float64
}

func (c *client) open(o options) map[string]any {
	total := int(math.Round(o.rate * o.seconds))
	latencies := make([]time.Duration, total)
	lags := make([]time.Duration, total)
	fromSend := make([]time.Duration, total)
	codesOf := make([]codes.Code, total)
	backlog := int64(math.Ceil(o.maxBacklog * o.rate))
	var inFlight atomic.Int64
	var done sync.WaitGroup
	var lastAnswer atomic.Int64
	cpu0, server0 := cpuSeconds(), pidCPUSeconds(o.watchPid, o.ticks)
	// Workers, started as the calls in flight outnumber them, make the calls: a goroutine per call would grow a
	// fresh stack for every one.
	type job struct {
		k   int
		due time.Time
	}
	jobs := make(chan job, backlog+1)
	workers := 0
	start := time.Now()
	worker := func() {
		for j := range jobs {
			codesOf[j.k] = c.call(j.k % len(c.workloads))
			latencies[j.k] = time.Since(j.due)
			fromSend[j.k] = latencies[j.k] - lags[j.k]
			lastAnswer.Store(int64(time.Since(start)))
			inFlight.Add(-1)
			done.Done()
		}
	}
	sent, carried, woke := 0, true, start
	for ; sent < total; sent++ {
		due := start.Add(time.Duration(float64(sent) * 1e9 / o.rate))
		if wait := time.Until(due); wait > 0 {
			// Waking at most every -tick: the calls due meanwhile go out together.
			time.Sleep(max(wait, time.Until(woke.Add(o.tick))))
			woke = time.Now()
		}
		busy := inFlight.Load()
		if busy > backlog {
			carried = false
			break
		}
		if busy >= int64(workers) {
			workers++
			go worker()
		}
		lags[sent] = time.Since(due)
		inFlight.Add(1)
		done.Add(1)
		jobs <- job{sent, due}
	}
	close(jobs)
	// The calls sent cover sent/rate seconds of the schedule; longer when the sending fell behind.
	sending := max(time.Since(start).Seconds(), float64(sent)/o.rate)
	done.Wait()
	cpu, server := cpuSeconds()-cpu0, pidCPUSeconds(o.watchPid, o.ticks)-server0
	failed := counts{}
	answered := make([]time.Duration, 0, sent)
	answeredFromSend := make([]time.Duration, 0, sent)
	for k := 0; k < sent; k++ {
		failed.add(codesOf[k])
		if codesOf[k] == codes.OK {
			answered = append(answered, latencies[k])
			answeredFromSend = append(answeredFromSend, fromSend[k])
		}
	}
	slices.Sort(answered)
	slices.Sort(answeredFromSend)
	sortedLags := slices.Clone(lags[:sent])
	slices.Sort(sortedLags)
	until := time.Duration(lastAnswer.Load()).Seconds()
	out := map[string]any{
		"mode":              "open",
		"rate":              o.rate,
		"seconds":           o.seconds,
		"carried":           carried,
		"sent":              sent,
		"ok":                len(answered),
		"failed":            failed,
		"sendingSeconds":    round(sending, 2),
		"sentPerSecond":     round(float64(sent)/sending, 0),
		"answeredPerSecond": round(float64(len(answered))/math.Max(until, 1e-9), 0),
		"p50Ms":             quantile(answered, 0.5),
		"p90Ms":             quantile(answered, 0.9),
		"p99Ms":             quantile(answered, 0.99),
		"p999Ms":            quantile(answered, 0.999),
		"maxMs":             quantile(answered, 1),
		"fromSendP50Ms":     quantile(answeredFromSend, 0.5),
		"fromSendP99Ms":     quantile(answeredFromSend, 0.99),
		"sendLagP99Ms":      quantile(sortedLags, 0.99),
		"sendLagMaxMs":      quantile(sortedLags, 1),
		"loadgenCpuSeconds": round(cpu, 3),
		"loadgenWorkers":    workers,
	}
	c.addWrong(out)
	addServer(out, server, len(answered), until, o.watchPid)
	return out
}

func (c *client) closed(o options) map[string]any {
	var measuring, stopping atomic.Bool
	type tally struct {
		failed    counts
		latencies []time.Duration
	}
	tallies := make([]tally, o.concurrency)
	var done sync.WaitGroup
	for g := 0; g < o.concurrency; g++ {
		tallies[g].failed = counts{}
		done.Add(1)
		go func(g int) {
			defer done.Done()
			t := &tallies[g]
			for !stopping.Load() {
				started := time.Now()
				code := c.call(g % len(c.workloads))
				if code != codes.OK {
					t.failed.add(code)
				} else if measuring.Load() && !stopping.Load() {
					// Answers that arrive within the measured window count, whenever their call started.
					t.latencies = append(t.latencies, time.Since(started))
				}
			}
		}(g)
	}
	time.Sleep(time.Duration(o.warmup * 1e9))
	cpu0, server0 := cpuSeconds(), pidCPUSeconds(o.watchPid, o.ticks)
	start := time.Now()
	measuring.Store(true)
	time.Sleep(time.Duration(o.seconds * 1e9))
	stopping.Store(true)
	seconds := time.Since(start).Seconds()
	cpu, server := cpuSeconds()-cpu0, pidCPUSeconds(o.watchPid, o.ticks)-server0
	done.Wait()
	failed := counts{}
	var all []time.Duration
	for _, t := range tallies {
		for code, n := range t.failed {
			failed[code] += n
		}
		all = append(all, t.latencies...)
	}
	slices.Sort(all)
	out := map[string]any{
		"mode":              "closed",
		"concurrency":       o.concurrency,
		"seconds":           round(seconds, 2),
		"calls":             len(all),
		"failed":            failed,
		"callsPerSecond":    round(float64(len(all))/seconds, 0),
		"p50Ms":             quantile(all, 0.5),
		"p99Ms":             quantile(all, 0.99),
		"maxMs":             quantile(all, 1),
		"loadgenCpuSeconds": round(cpu, 3),
	}
	c.addWrong(out)
	addServer(out, server, len(all), seconds, o.watchPid)
	return out
}

func (c *client) addWrong(out map[string]any) {
	out["wrong"] = c.wrong.Load()
	c.firstMu.Lock()
	defer c.firstMu.Unlock()
	if c.first != "" {
		out["firstWrong"] = c.first
	}
}

// addServer: the watched process's CPU over the run, as cores and per answered call.
func addServer(out map[string]any, cpu float64, calls int, seconds float64, pid int) {
	if pid <= 0 {
		return
	}
	out["serverCpuSeconds"] = round(cpu, 3)
	out["serverCpuCores"] = round(cpu/seconds, 2)
	if calls > 0 {
		out["serverCpuMsPerCall"] = round(cpu*1000/float64(calls), 3)
	}
}

func run() error {
	address := flag.String("address", "", "host:port of the ExternalScaler (plaintext)")
	mode := flag.String("mode", "open", "open (a fixed rate) or closed (calls in flight)")
	var o options
	flag.Float64Var(&o.rate, "rate", 2000, "open: calls per second")
	flag.Float64Var(&o.seconds, "seconds", 10, "how long the measured run lasts")
	flag.Float64Var(&o.warmup, "warmup", 1, "closed: seconds of the same load before the measured run")
	flag.Float64Var(&o.maxBacklog, "max-backlog", 2, "open: stop sending when more than this many seconds of calls wait for answers")
	flag.IntVar(&o.concurrency, "concurrency", 0, "closed: calls in flight (default: one per request)")
	flag.IntVar(&o.watchPid, "watch-pid", 0, "a process (the server) whose CPU time over the run is reported")
	flag.Float64Var(&o.ticks, "clock-ticks", 100, "clock ticks per second of /proc's CPU times (getconf CLK_TCK)")
	flag.DurationVar(&o.tick, "tick", 0, "open: the sender wakes at most this often (0: for every call)")
	deadline := flag.Duration("deadline", 10*time.Second, "deadline of each call")
	// One thread by default: the work is waiting, and with more the runtime spends CPU handing goroutines between
	// threads, CPU the server under test then lacks (measured here: 0.16 ms a call with 1, 0.19 with 2).
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	flag.Parse()
	runtime.GOMAXPROCS(max(1, *procs))
	if *address == "" || !(o.rate > 0) || !(o.seconds > 0) || o.warmup < 0 || !(o.maxBacklog > 0) || o.concurrency < 0 {
		return errors.New("-address is required; -rate, -seconds and -max-backlog must be above 0, -warmup and -concurrency not below")
	}
	var input struct {
		Requests []Request `json:"requests"`
	}
	decoder := json.NewDecoder(os.Stdin)
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&input); err != nil {
		return fmt.Errorf("reading the requests from stdin: %w", err)
	}
	if len(input.Requests) == 0 {
		return errors.New("no requests on stdin")
	}
	c := &client{deadline: *deadline}
	for _, r := range input.Requests {
		c.workloads = append(c.workloads, workload{request: r, body: encodeRequest(r)})
	}
	conn, err := grpc.NewClient(*address, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.ForceCodec(bytesCodec{})))
	if err != nil {
		return err
	}
	defer conn.Close()
	c.conn = conn
	// The connection made and one call answered before anything is timed.
	if code := c.call(0); code != codes.OK {
		return fmt.Errorf("the first GetMetrics call to %s failed: %s", *address, codeName(code))
	}
	c.wrong.Store(0)
	c.first = ""
	var out map[string]any
	switch *mode {
	case "open":
		out = c.open(o)
	case "closed":
		if o.concurrency == 0 {
			o.concurrency = len(c.workloads)
		}
		out = c.closed(o)
	default:
		return fmt.Errorf("-mode must be open or closed, got %q", *mode)
	}
	line, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(line))
	return err
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}
