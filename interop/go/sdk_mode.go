package main

// What the SDK modes (naming.go, config.go) share: their flags, the SDK's server list, and the
// command loop.

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/common/logger"
)

type sdkModeArgs struct {
	servers  []string
	cacheDir string
	logLevel string
	// tls: off unless --tls-ca, --tls-cert or --tls-key is given; Appointed so the SDK does not
	// read it from the environment instead.
	tls constant.TLSConfig
}

// parseSDKModeArgs reads --servers, --cache-dir, --log-level and the --tls-* files, and installs the SDK's logger:
// set before a client exists, the SDK keeps a logger it finds instead of writing log files.
func parseSDKModeArgs(mode string, args []string) sdkModeArgs {
	parsed := sdkModeArgs{servers: []string{"127.0.0.1:8848"}, logLevel: "info"}
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--servers":
			parsed.servers = splitTrim(args[i+1])
		case "--cache-dir":
			parsed.cacheDir = args[i+1]
		case "--log-level":
			parsed.logLevel = args[i+1]
		case "--tls-ca":
			parsed.tls.CaFile = args[i+1]
			parsed.tls.Enable, parsed.tls.Appointed = true, true
		case "--tls-cert":
			parsed.tls.CertFile = args[i+1]
			parsed.tls.Enable, parsed.tls.Appointed = true, true
		case "--tls-key":
			parsed.tls.KeyFile = args[i+1]
			parsed.tls.Enable, parsed.tls.Appointed = true, true
		default:
			fmt.Fprintf(os.Stderr, "usage: %s --servers ip:port[,...] --cache-dir DIR [--log-level LEVEL] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]\n", mode)
			os.Exit(2)
		}
	}
	logger.SetLogger(newStderrLogger(parsed.logLevel))
	return parsed
}

// sdkServerConfigs: the SDK's server list from main addresses (it adds 1000 for gRPC itself).
func sdkServerConfigs(servers []string) []constant.ServerConfig {
	configs := make([]constant.ServerConfig, 0, len(servers))
	for _, s := range servers {
		ip, port, err := splitHostPort(s)
		if err != nil {
			fatal("bad server "+s, err)
		}
		configs = append(configs, constant.ServerConfig{IpAddr: ip, Port: port, Scheme: "http", ContextPath: "/nacos"})
	}
	return configs
}

// serveCommands answers each stdin line with run's event (or an error event) until quit or EOF,
// then closes the client and exits.
func serveCommands(run func(line string) (ordered, error), closeClient func()) {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		if line == "quit" {
			break
		}
		answer, err := run(line)
		if err != nil {
			answer = event("error").set("message", err.Error()).set("code", -1)
		}
		emit(answer)
	}
	closeClient()
	emit(event("bye"))
	os.Exit(0)
}
