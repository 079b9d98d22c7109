package main

import (
	"fmt"
	"reflect"
	"strconv"
	"sync/atomic"
	"unsafe"

	"github.com/nacos-group/nacos-sdk-go/v2/common/nacos_server"
	"github.com/nacos-group/nacos-sdk-go/v2/common/remote/rpc"
)

// The rpc package exposes neither the current connection (IConnection has only unexported
// methods) nor the client status, so they are read from the unexported fields, the way the Java
// harness reads private fields. A layout change in the SDK panics here with a clear message.

type inspector struct {
	status     *int32        // RpcClient.rpcClientStatus, written atomically by the SDK
	connection reflect.Value // RpcClient.currentConnection (IConnection)
}

type connInfo struct {
	id     string
	server string // ip:mainPort
}

func newInspector(client *rpc.RpcClient) *inspector {
	v := reflect.ValueOf(client).Elem()
	status := field(v, "rpcClientStatus")
	if status.Kind() != reflect.Int32 {
		panic(fmt.Sprintf("nacos-sdk-go layout changed: RpcClient.rpcClientStatus is %s", status.Type()))
	}
	return &inspector{
		status:     (*int32)(unsafe.Pointer(status.UnsafeAddr())),
		connection: field(v, "currentConnection"),
	}
}

// statusName follows rpc.RpcClientStatus (INITIALIZED, STARTING, UNHEALTHY, RUNNING, SHUTDOWN).
func (in *inspector) statusName() string {
	switch rpc.RpcClientStatus(atomic.LoadInt32(in.status)) {
	case rpc.INITIALIZED:
		return "INITIALIZED"
	case rpc.STARTING:
		return "STARTING"
	case rpc.UNHEALTHY:
		return "UNHEALTHY"
	case rpc.RUNNING:
		return "RUNNING"
	case rpc.SHUTDOWN:
		return "SHUTDOWN"
	default:
		return "UNKNOWN"
	}
}

// current reads the client's current connection: *GrpcConnection{*Connection{connectionId, serverInfo}}.
// The SDK itself reads and writes this field without synchronisation.
func (in *inspector) current() connInfo {
	iface := in.connection
	if iface.IsNil() {
		return connInfo{}
	}
	ptr := iface.Elem() // *rpc.GrpcConnection
	if ptr.Kind() != reflect.Pointer || ptr.IsNil() {
		return connInfo{}
	}
	base := field(ptr.Elem(), "Connection") // embedded *rpc.Connection
	if base.IsNil() {
		return connInfo{}
	}
	conn := base.Elem()
	server := field(conn, "serverInfo")
	ip := field(server, "serverIp").String()
	port := field(server, "serverPort").Uint()
	return connInfo{
		id:     field(conn, "connectionId").String(),
		server: ip + ":" + strconv.FormatUint(port, 10),
	}
}

func (in *inspector) statusEvent(name string) ordered {
	status := in.statusName()
	return in.current().event(name).insertStatus(status)
}

func (c connInfo) event(name string) ordered {
	var id, server any
	if c.id != "" {
		id, server = c.id, c.server
	}
	return event(name).set("connectionId", id).set("server", server)
}

// insertStatus puts "status" right after "event".
func (o ordered) insertStatus(status string) ordered {
	res := ordered{o[0], {"status", status}}
	return append(res, o[1:]...)
}

// startAtFirstServer makes the SDK's round robin start at the first listed server (as the Java
// harness does) instead of at a random one: GetNextServer increments currentIndex before use.
func startAtFirstServer(server *nacos_server.NacosServer) {
	index := field(reflect.ValueOf(server).Elem(), "currentIndex")
	if index.Kind() != reflect.Int32 {
		panic(fmt.Sprintf("nacos-sdk-go layout changed: NacosServer.currentIndex is %s", index.Type()))
	}
	atomic.StoreInt32((*int32)(unsafe.Pointer(index.UnsafeAddr())), -1)
}

func field(v reflect.Value, name string) reflect.Value {
	f := v.FieldByName(name)
	if !f.IsValid() {
		panic(fmt.Sprintf("nacos-sdk-go layout changed: %s has no field %s", v.Type(), name))
	}
	return f
}
