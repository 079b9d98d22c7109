// Command nacos-interop-go drives the real nacos-sdk-go v2 rpc client (common/remote/rpc, gRPC)
// against a server under test. It speaks the same line protocol as interop/java:
//
//	args:   --servers ip:port[,ip:port...]   main ports; the SDK adds 1000 for gRPC
//	        [--labels k=v,...]               default source=sdk
//	        [--name NAME]                    rpc client name, default interop-go
//	        [--log-level debug|info|warn|error]  SDK log level (stderr), default info
//	        [--random-start]                 keep the SDK's random first server instead of the first listed
//
//	stdout: exactly one JSON object per line (events and command answers); nothing else.
//	        {"event":"connected","connectionId":"...","server":"ip:port"}
//	        {"event":"disconnected","connectionId":"...","server":"ip:port"}
//	        {"event":"push","type":"ConnectResetRequest","requestId":"...","serverIp":"...","serverPort":"..."}
//	        {"event":"started","status":"RUNNING","connectionId":"...","server":"ip:port"}
//	stdin:  one command per line; each is answered with one JSON line.
//	        status -> {"event":"status","status":"RUNNING|...","connectionId":...,"server":...}
//	        health -> {"event":"response","type":"HealthCheckResponse","resultCode":200,"errorCode":0,"success":true}
//	                  or {"event":"error","message":"...","code":-1}
//	        quit (or EOF) -> shuts the client down, prints {"event":"bye"}, exits 0.
//
// SDK logs go to stderr. The process's file descriptor 1 is pointed at stderr at start-up, so a
// stray fmt.Println anywhere in the SDK cannot corrupt the protocol; events go to a private dup of
// the original stdout.
//
// `nacos-interop-go naming ...` drives the SDK's naming client instead (naming.go), and
// `nacos-interop-go config ...` its config client (config.go).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/common/http_agent"
	"github.com/nacos-group/nacos-sdk-go/v2/common/logger"
	"github.com/nacos-group/nacos-sdk-go/v2/common/nacos_server"
	"github.com/nacos-group/nacos-sdk-go/v2/common/remote/rpc"
	"github.com/nacos-group/nacos-sdk-go/v2/common/remote/rpc/rpc_request"
	"github.com/nacos-group/nacos-sdk-go/v2/common/remote/rpc/rpc_response"
)

const usage = "usage: --servers ip:port[,ip:port...] [--labels k=v,...] [--name NAME] [--log-level debug|info|warn|error] [--random-start]"

func main() {
	out = protocolOut()
	if len(os.Args) > 1 && os.Args[1] == "naming" {
		runNaming(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "config" {
		runConfig(os.Args[2:])
		return
	}

	servers := []string{"127.0.0.1:8848"}
	labels := parseLabels("source=sdk")
	name := "interop-go"
	logLevel := "info"
	randomStart := false
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		value := ""
		if i+1 < len(args) {
			value = args[i+1]
		}
		switch args[i] {
		case "--servers":
			servers = splitTrim(value)
		case "--labels":
			labels = parseLabels(value)
		case "--name":
			name = value
		case "--log-level":
			logLevel = value
		case "--random-start":
			randomStart = true
			continue
		default:
			fmt.Fprintln(os.Stderr, "unknown argument: "+args[i])
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		i++
	}

	logger.SetLogger(newStderrLogger(logLevel))

	serverConfigs := make([]constant.ServerConfig, 0, len(servers))
	for _, s := range servers {
		ip, port, err := splitHostPort(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bad server %q: %v\n%s\n", s, err, usage)
			os.Exit(2)
		}
		serverConfigs = append(serverConfigs, constant.ServerConfig{IpAddr: ip, Port: port, Scheme: "http", ContextPath: "/nacos"})
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clientConfig := constant.ClientConfig{TimeoutMs: 3000, LogLevel: logLevel}
	nacosServer, err := nacos_server.NewNacosServer(ctx, serverConfigs, clientConfig, &http_agent.HttpAgent{}, 3000, "", nil)
	if err != nil {
		fatal("cannot create server list", err)
	}
	if !randomStart {
		startAtFirstServer(nacosServer)
	}

	iClient, err := rpc.CreateClient(ctx, name, rpc.GRPC, labels, nacosServer, &constant.TLSConfig{}, nil)
	if err != nil {
		fatal("cannot create rpc client", err)
	}
	client := iClient.GetRpcClient()
	inspect := newInspector(client)

	listener := &connectionListener{inspect: inspect}
	client.RegisterConnectionListener(listener)

	start(client)
	// The SDK reports CONNECTED from its own event goroutine; let that event out first so
	// "started" always follows the initial "connected" (as it does for the Java harness).
	if id := inspect.current().id; id != "" {
		listener.waitReported(id, 2*time.Second)
	}
	emit(inspect.statusEvent("started"))

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 1024*1024)
	for in.Scan() {
		switch command := strings.TrimSpace(in.Text()); command {
		case "":
		case "status":
			emit(inspect.statusEvent("status"))
		case "health":
			emit(health(client))
		case "quit":
			quit(client, listener, cancel)
		default:
			emit(event("error").set("message", "unknown command: "+command).set("code", -1))
		}
	}
	quit(client, listener, cancel)
}

// start runs RpcClient.Start and installs the reporting push handlers.
//
// Start() itself registers the built-in ConnectResetRequest and ClientDetectionRequest handlers
// (one handler per type: a later registration replaces an earlier one), so handlers registered
// before Start() would be overwritten. Start() registers them right after leaving INITIALIZED and
// only then dials, so re-registering ours every millisecond from that point until Start() returns
// puts ours in place well before the first push can arrive (the SDK sleeps 100 ms after sending
// ConnectionSetupRequest before it even reports the connection).
func start(client *rpc.RpcClient) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		client.Start()
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			registerReportingHandlers(client)
			return
		case <-tick.C:
			if !client.IsInitialized() {
				registerReportingHandlers(client)
			}
		}
	}
}

func registerReportingHandlers(client *rpc.RpcClient) {
	client.RegisterServerRequestHandler(func() rpc_request.IRequest {
		return &rpc_request.ConnectResetRequest{InternalRequest: rpc_request.NewInternalRequest()}
	}, &reportingHandler{inner: &rpc.ConnectResetRequestHandler{}})
	client.RegisterServerRequestHandler(func() rpc_request.IRequest {
		return &rpc_request.ClientDetectionRequest{InternalRequest: rpc_request.NewInternalRequest()}
	}, &reportingHandler{inner: &rpc.ClientDetectionRequestHandler{}})
}

// reportingHandler prints every push it sees, then lets the SDK's own handler answer it.
type reportingHandler struct {
	inner rpc.IServerRequestHandler
}

func (h *reportingHandler) Name() string { return "interop-report-" + h.inner.Name() }

func (h *reportingHandler) RequestReply(request rpc_request.IRequest, client *rpc.RpcClient) rpc_response.IResponse {
	ev := event("push").set("type", request.GetRequestType()).set("requestId", request.GetRequestId())
	if reset, ok := request.(*rpc_request.ConnectResetRequest); ok {
		ev = ev.set("serverIp", reset.ServerIp).set("serverPort", reset.ServerPort)
	}
	emit(ev)
	return h.inner.RequestReply(request, client)
}

// connectionListener reports the SDK's connection events. They carry no connection, so a
// connect reports the client's current connection and a disconnect the last connected one.
type connectionListener struct {
	inspect *inspector
	mu      sync.Mutex
	last    connInfo
	// disconnects is signalled on every disconnect so quit can wait for the one Shutdown causes.
	disconnects chan struct{}
}

func (l *connectionListener) OnConnected() {
	info := l.inspect.current()
	emit(info.event("connected"))
	l.mu.Lock()
	l.last = info
	l.mu.Unlock()
}

// waitReported waits until a "connected" event for connection id has been printed.
func (l *connectionListener) waitReported(id string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		done := l.last.id == id
		l.mu.Unlock()
		if done {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (l *connectionListener) OnDisConnect() {
	l.mu.Lock()
	info := l.last
	ch := l.disconnects
	l.mu.Unlock()
	emit(info.event("disconnected"))
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func health(client *rpc.RpcClient) ordered {
	response, err := client.Request(rpc_request.NewHealthCheckRequest(), constant.DEFAULT_TIMEOUT_MILLS)
	if err != nil {
		// The Go SDK's errors carry no code (an ErrorResponse becomes errors.New(message)).
		return event("error").set("message", err.Error()).set("code", -1)
	}
	if response == nil {
		return event("error").set("message", "nil response").set("code", -1)
	}
	return event("response").
		set("type", response.GetResponseType()).
		set("resultCode", response.GetResultCode()).
		set("errorCode", response.GetErrorCode()).
		set("success", response.IsSuccess())
}

func quit(client *rpc.RpcClient, listener *connectionListener, cancel context.CancelFunc) {
	disconnects := make(chan struct{}, 1)
	listener.mu.Lock()
	listener.disconnects = disconnects
	listener.mu.Unlock()
	hadConnection := listener.inspect.current().id != ""

	client.Shutdown()
	// Shutdown queues a DISCONNECTED event when it closes a connection; let the event goroutine
	// report it before the context (which also stops that goroutine) is cancelled.
	if hadConnection {
		select {
		case <-disconnects:
		case <-time.After(time.Second):
		}
	}
	cancel()
	emit(event("bye"))
	os.Exit(0)
}

// ---- output ---------------------------------------------------------------------------------

var (
	out   *os.File
	outMu sync.Mutex
)

func emit(ev ordered) {
	line, err := json.Marshal(ev)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot serialize %v: %v\n", ev, err)
		return
	}
	outMu.Lock()
	defer outMu.Unlock()
	_, _ = out.Write(append(line, '\n'))
}

type pair struct {
	key   string
	value any
}

// ordered is a JSON object that keeps its keys in insertion order ("event" first).
type ordered []pair

func event(name string) ordered { return ordered{{"event", name}} }

func (o ordered) set(key string, value any) ordered { return append(o, pair{key, value}) }

func (o ordered) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.key)
		v, err := json.Marshal(p.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// ---- helpers --------------------------------------------------------------------------------

func fatal(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1)
}

func splitTrim(s string) []string {
	var parts []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

func parseLabels(spec string) map[string]string {
	labels := map[string]string{}
	for _, pair := range strings.Split(spec, ",") {
		if eq := strings.IndexByte(pair, '='); eq > 0 {
			labels[strings.TrimSpace(pair[:eq])] = strings.TrimSpace(pair[eq+1:])
		}
	}
	return labels
}

func splitHostPort(s string) (string, uint64, error) {
	colon := strings.LastIndexByte(s, ':')
	if colon < 0 {
		return s, 8848, nil
	}
	port, err := strconv.ParseUint(s[colon+1:], 10, 16)
	if err != nil {
		return "", 0, err
	}
	host := strings.TrimSuffix(strings.TrimPrefix(s[:colon], "["), "]")
	return host, port, nil
}
