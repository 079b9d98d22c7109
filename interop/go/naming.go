package main

// The naming mode, `nacos-interop-go naming ...`: the real nacos-sdk-go v2 naming client behind
// the same line protocol.
//
//	args:   --servers ip:port[,ip:port...]   main ports; the SDK adds 1000 for gRPC
//	        --cache-dir DIR                  where the SDK keeps its service cache
//	        [--log-level debug|info|warn|error]
//	        [--tls-ca CA.pem [--tls-cert CERT.pem --tls-key KEY.pem]]  TLS to the gRPC port (mutual with a certificate)
//	stdin:  register SERVICE IP PORT [CLUSTER] -> {"event":"ok"}
//	        register-persistent SERVICE IP PORT -> {"event":"ok"} (the SDK sends it over HTTP)
//	        deregister SERVICE IP PORT         -> {"event":"ok"}
//	        list SERVICE                       -> {"event":"instances","source":"query","hosts":["ip:port",...]}
//	        subscribe SERVICE                  -> {"event":"ok"}, then every change:
//	                                              {"event":"instances","source":"push","hosts":[...]}
//	        quit (or EOF)                      -> {"event":"bye"}
//	        any failure                        -> {"event":"error","message":"...","code":-1}

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/clients/naming_client"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/model"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"
)

func runNaming(args []string) {
	parsed := parseSDKModeArgs("naming", args)
	client, err := clients.NewNamingClient(vo.NacosClientParam{
		// UpdateCacheWhenEmpty: by default the SDK drops an empty instance list, so the last
		// instance's removal would never reach the callback.
		ClientConfig: &constant.ClientConfig{
			TimeoutMs: 5000, NotLoadCacheAtStart: true, UpdateCacheWhenEmpty: true, CacheDir: parsed.cacheDir, LogLevel: parsed.logLevel, TLSCfg: parsed.tls,
		},
		ServerConfigs: sdkServerConfigs(parsed.servers),
	})
	if err != nil {
		fatal("cannot create naming client", err)
	}
	emit(event("started"))
	serveCommands(func(line string) (ordered, error) { return runNamingCommand(client, strings.Fields(line)) }, client.CloseClient)
}

func runNamingCommand(client naming_client.INamingClient, words []string) (ordered, error) {
	if len(words) < 2 {
		return nil, fmt.Errorf("%s needs a service name", words[0])
	}
	service := words[1]
	switch words[0] {
	case "register", "register-persistent", "deregister":
		if len(words) < 4 {
			return nil, fmt.Errorf("%s SERVICE IP PORT", words[0])
		}
		port, err := strconv.ParseUint(words[3], 10, 64)
		if err != nil {
			return nil, err
		}
		if words[0] == "deregister" {
			_, err = client.DeregisterInstance(vo.DeregisterInstanceParam{ServiceName: service, Ip: words[2], Port: port, Ephemeral: true})
			return event("ok"), err
		}
		cluster := ""
		if len(words) > 4 {
			cluster = words[4]
		}
		_, err = client.RegisterInstance(vo.RegisterInstanceParam{
			ServiceName: service, Ip: words[2], Port: port, ClusterName: cluster, Weight: 1, Enable: true, Healthy: true,
			Ephemeral: words[0] == "register",
		})
		return event("ok"), err
	case "list":
		hosts, err := client.SelectAllInstances(vo.SelectAllInstancesParam{ServiceName: service})
		return instancesEvent("query", hosts), err
	case "subscribe":
		return event("ok"), client.Subscribe(&vo.SubscribeParam{
			ServiceName: service,
			SubscribeCallback: func(hosts []model.Instance, err error) {
				if err == nil {
					emit(instancesEvent("push", hosts))
				}
			},
		})
	default:
		return nil, fmt.Errorf("unknown command: %s", words[0])
	}
}

func instancesEvent(source string, hosts []model.Instance) ordered {
	addresses := make([]string, 0, len(hosts))
	for _, h := range hosts {
		addresses = append(addresses, h.Ip+":"+strconv.FormatUint(h.Port, 10))
	}
	sort.Strings(addresses)
	return event("instances").set("source", source).set("hosts", addresses)
}
