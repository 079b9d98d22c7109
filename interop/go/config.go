package main

// The config mode, `nacos-interop-go config ...`: the real nacos-sdk-go v2 config client behind
// the same line protocol.
//
//	args:   --servers ip:port[,ip:port...]   main ports; the SDK adds 1000 for gRPC
//	        --cache-dir DIR                  where the SDK keeps its config snapshots
//	        [--log-level debug|info|warn|error]
//	        [--tls-ca CA.pem [--tls-cert CERT.pem --tls-key KEY.pem]]  TLS to the gRPC port (mutual with a certificate)
//	stdin:  get DATAID GROUP                 -> {"event":"config","source":"query","dataId":...,"group":...,"content":"..."}
//	        publish DATAID GROUP CONTENT...  -> {"event":"ok"} (the rest of the line is the content)
//	        listen DATAID GROUP              -> {"event":"ok"}, then every change:
//	                                            {"event":"config","source":"push","dataId":...,"group":...,"content":"..."}
//	        quit (or EOF)                    -> {"event":"bye"}
//	        any failure                      -> {"event":"error","message":"...","code":-1}

import (
	"fmt"
	"strings"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/clients/config_client"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"
)

func runConfig(args []string) {
	parsed := parseSDKModeArgs("config", args)
	client, err := clients.NewConfigClient(vo.NacosClientParam{
		ClientConfig:  &constant.ClientConfig{TimeoutMs: 5000, NotLoadCacheAtStart: true, CacheDir: parsed.cacheDir, LogLevel: parsed.logLevel, TLSCfg: parsed.tls},
		ServerConfigs: sdkServerConfigs(parsed.servers),
	})
	if err != nil {
		fatal("cannot create config client", err)
	}
	emit(event("started"))
	serveCommands(func(line string) (ordered, error) { return runConfigCommand(client, strings.SplitN(line, " ", 4)) }, client.CloseClient)
}

func runConfigCommand(client config_client.IConfigClient, words []string) (ordered, error) {
	if len(words) < 3 {
		return nil, fmt.Errorf("%s needs DATAID GROUP", words[0])
	}
	dataID, group := words[1], words[2]
	switch words[0] {
	case "get":
		content, err := client.GetConfig(vo.ConfigParam{DataId: dataID, Group: group})
		return configEvent("query", dataID, group, content), err
	case "publish":
		if len(words) < 4 {
			return nil, fmt.Errorf("publish DATAID GROUP CONTENT")
		}
		published, err := client.PublishConfig(vo.ConfigParam{DataId: dataID, Group: group, Content: words[3]})
		if err == nil && !published {
			err = fmt.Errorf("publish refused")
		}
		return event("ok"), err
	case "listen":
		return event("ok"), client.ListenConfig(vo.ConfigParam{
			DataId: dataID,
			Group:  group,
			OnChange: func(_, group, dataID, content string) {
				emit(configEvent("push", dataID, group, content))
			},
		})
	default:
		return nil, fmt.Errorf("unknown command: %s", words[0])
	}
}

func configEvent(source, dataID, group, content string) ordered {
	return event("config").set("source", source).set("dataId", dataID).set("group", group).set("content", content)
}
