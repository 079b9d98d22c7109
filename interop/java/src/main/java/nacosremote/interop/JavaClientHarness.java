package nacosremote.interop;

import com.alibaba.nacos.api.exception.NacosException;
import com.alibaba.nacos.api.remote.request.ConnectResetRequest;
import com.alibaba.nacos.api.remote.request.HealthCheckRequest;
import com.alibaba.nacos.api.remote.response.Response;
import com.alibaba.nacos.common.remote.ConnectionType;
import com.alibaba.nacos.common.remote.client.Connection;
import com.alibaba.nacos.common.remote.client.ConnectionEventListener;
import com.alibaba.nacos.common.remote.client.RpcClient;
import com.alibaba.nacos.common.remote.client.RpcClientFactory;
import com.alibaba.nacos.common.remote.client.ServerListFactory;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static nacosremote.interop.LineProtocol.emit;
import static nacosremote.interop.LineProtocol.event;

/**
 * Drives the real nacos-client 2.2.4 {@link RpcClient} (gRPC) against a server under test.
 *
 * <p>Protocol: stdout carries exactly one JSON object per line (events and command answers);
 * everything else (client logs) goes to stderr. Commands arrive on stdin, one per line:
 * {@code status}, {@code health}, {@code quit}. EOF on stdin behaves like {@code quit}.
 */
public final class JavaClientHarness {

    // 2.2.4 exposes neither the current Connection nor the status enum, so read the fields.
    private static final Field CURRENT_CONNECTION = field(RpcClient.class, "currentConnection");
    private static final Field CLIENT_STATUS = field(RpcClient.class, "rpcClientStatus");
    private static final Field CONNECTION_SERVER = field(Connection.class, "serverInfo");

    private JavaClientHarness() {
    }

    public static void main(String[] args) throws Exception {
        LineProtocol.claimStdout();
        System.setProperty("nacos.logging.default.config.enabled", "false");

        List<String> servers = List.of("127.0.0.1:8848");
        Map<String, String> labels = parseLabels("source=sdk");
        String name = "interop-java";
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : "";
            switch (args[i]) {
                case "--servers" -> servers = List.of(value.split("\\s*,\\s*"));
                case "--labels" -> labels = parseLabels(value);
                case "--name" -> name = value;
                default -> {
                    System.err.println("unknown argument: " + args[i]);
                    System.err.println("usage: --servers ip:port[,ip:port...] [--labels k=v,...] [--name NAME]");
                    System.exit(2);
                }
            }
            i++;
        }

        RpcClient client = RpcClientFactory.createClient(name, ConnectionType.GRPC, labels);
        client.serverListFactory(new RoundRobinServers(servers));
        client.registerConnectionListener(new ConnectionEventListener() {
            // Events carry no Connection in 2.2.4: report a disconnect against the last connected one.
            private volatile Connection last;

            @Override
            public void onConnected() {
                last = currentConnection(client);
                emit(connectionEvent("connected", last));
            }

            @Override
            public void onDisConnect() {
                emit(connectionEvent("disconnected", last));
            }
        });
        // Registered before start(), so it runs ahead of the built-in ConnectResetRequest and
        // ClientDetectionRequest handlers; returning null lets those answer the push.
        client.registerServerRequestHandler(request -> {
            Map<String, Object> push = event("push");
            push.put("type", request.getClass().getSimpleName());
            push.put("requestId", request.getRequestId());
            if (request instanceof ConnectResetRequest reset) {
                push.put("serverIp", reset.getServerIp());
                push.put("serverPort", reset.getServerPort());
            }
            emit(push);
            return null;
        });

        try {
            client.start();
        } catch (Exception e) {
            emit(error(e));
        }
        emit(statusEvent("started", client));

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String command = line.trim();
            switch (command) {
                case "" -> { }
                case "status" -> emit(statusEvent("status", client));
                case "health" -> emit(health(client));
                case "quit" -> quit(client);
                default -> {
                    Map<String, Object> err = event("error");
                    err.put("message", "unknown command: " + command);
                    err.put("code", -1);
                    emit(err);
                }
            }
        }
        quit(client);
    }

    private static Map<String, Object> health(RpcClient client) {
        try {
            Response response = client.request(new HealthCheckRequest());
            Map<String, Object> ev = event("response");
            ev.put("type", response.getClass().getSimpleName());
            ev.put("resultCode", response.getResultCode());
            ev.put("errorCode", response.getErrorCode());
            ev.put("success", response.isSuccess());
            return ev;
        } catch (Exception e) {
            return error(e);
        }
    }

    private static void quit(RpcClient client) {
        try {
            client.shutdown();
        } catch (Exception e) {
            System.err.println("shutdown failed: " + e);
        }
        emit(event("bye"));
        System.exit(0);
    }

    // ---- events -------------------------------------------------------------------------------

    private static Map<String, Object> connectionEvent(String name, Connection connection) {
        Map<String, Object> ev = event(name);
        ev.put("connectionId", connection == null ? null : connection.getConnectionId());
        ev.put("server", serverOf(connection));
        return ev;
    }

    private static Map<String, Object> statusEvent(String name, RpcClient client) {
        Connection connection = currentConnection(client);
        Map<String, Object> ev = event(name);
        ev.put("status", String.valueOf(((AtomicReference<?>) read(CLIENT_STATUS, client)).get()));
        ev.put("connectionId", connection == null ? null : connection.getConnectionId());
        ev.put("server", serverOf(connection));
        return ev;
    }

    private static Map<String, Object> error(Exception e) {
        Map<String, Object> ev = event("error");
        ev.put("message", e instanceof NacosException ne ? ne.getErrMsg() : String.valueOf(e.getMessage()));
        ev.put("code", e instanceof NacosException ne ? ne.getErrCode() : -1);
        return ev;
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static Connection currentConnection(RpcClient client) {
        return (Connection) read(CURRENT_CONNECTION, client);
    }

    /** "ip:port" with the main port (gRPC port = main + 1000), or null. */
    private static String serverOf(Connection connection) {
        Object info = connection == null ? null : read(CONNECTION_SERVER, connection);
        return info == null ? null : ((RpcClient.ServerInfo) info).getAddress();
    }

    private static Map<String, String> parseLabels(String spec) {
        Map<String, String> labels = new LinkedHashMap<>();
        for (String pair : spec.split(",")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                labels.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
            }
        }
        return labels;
    }

    private static Field field(Class<?> owner, String name) {
        try {
            Field f = owner.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException("nacos-client layout changed: " + owner.getName() + "." + name, e);
        }
    }

    private static Object read(Field f, Object target) {
        try {
            return f.get(target);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /** genNextServer walks the list round-robin from index 0; getCurrentServer is the last one handed out. */
    private static final class RoundRobinServers implements ServerListFactory {
        private final List<String> servers;
        private int next;
        private volatile String current;

        RoundRobinServers(List<String> servers) {
            this.servers = new ArrayList<>(servers);
            this.current = this.servers.get(0);
        }

        @Override
        public synchronized String genNextServer() {
            current = servers.get(next);
            next = (next + 1) % servers.size();
            return current;
        }

        @Override
        public String getCurrentServer() {
            return current;
        }

        @Override
        public List<String> getServerList() {
            return servers;
        }
    }
}
