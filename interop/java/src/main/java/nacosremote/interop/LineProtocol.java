package nacosremote.interop;

import com.alibaba.nacos.api.exception.NacosException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The harnesses' output: one JSON object per line on the real stdout. {@link #claimStdout()}
 * points System.out at stderr so stray prints (client logs) cannot corrupt the protocol.
 */
final class LineProtocol {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final PrintStream OUT =
            new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

    private LineProtocol() {
    }

    static void claimStdout() {
        System.setOut(System.err);
    }

    /**
     * The start of a NamingService or ConfigService harness: stdout claimed, the client's own log
     * config off, and its Properties from {@code --servers} and {@code --cache-dir}. The cache dir
     * is set as a system property too: the config client reads it statically from there, the
     * naming client from its Properties. {@code --tls-trust}, {@code --tls-cert} and
     * {@code --tls-key} turn on TLS (mutual with a certificate). Exits 2 on an unknown flag.
     */
    static Properties serviceClientProperties(String[] args) {
        claimStdout();
        System.setProperty("nacos.logging.default.config.enabled", "false");
        Properties properties = new Properties();
        properties.setProperty("serverAddr", "127.0.0.1:8848");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--servers" -> properties.setProperty("serverAddr", args[i + 1]);
                case "--cache-dir" -> {
                    System.setProperty("JM.SNAPSHOT.PATH", args[i + 1]);
                    properties.setProperty("JM.SNAPSHOT.PATH", args[i + 1]);
                }
                // TLS as an application sets it: Properties read by RpcClientTlsConfig.properties;
                // paths as file: URLs (a bare path would be looked up on the classpath).
                case "--tls-trust" -> {
                    properties.setProperty("nacos.remote.client.rpc.tls.enable", "true");
                    properties.setProperty("nacos.remote.client.rpc.tls.trustCollectionChainPath", "file:" + args[i + 1]);
                }
                case "--tls-cert" -> {
                    properties.setProperty("nacos.remote.client.rpc.tls.mutualAuth", "true");
                    properties.setProperty("nacos.remote.client.rpc.tls.certChainFile", "file:" + args[i + 1]);
                }
                case "--tls-key" -> properties.setProperty("nacos.remote.client.rpc.tls.certPrivateKey", "file:" + args[i + 1]);
                default -> {
                    System.err.println("usage: --servers ip:port[,ip:port...] [--cache-dir DIR] [--tls-trust CA.pem [--tls-cert CERT.pem --tls-key KEY.pem]]");
                    System.exit(2);
                }
            }
        }
        return properties;
    }

    /** A new event object whose first field is {@code event: name}. */
    static Map<String, Object> event(String name) {
        Map<String, Object> ev = new LinkedHashMap<>();
        ev.put("event", name);
        return ev;
    }

    static synchronized void emit(Map<String, Object> ev) {
        try {
            OUT.println(JSON.writeValueAsString(ev));
        } catch (Exception e) {
            System.err.println("cannot serialize " + ev + ": " + e);
        }
    }

    /** One command line, split into words, turned into the event to emit. */
    interface Command {
        Map<String, Object> run(String[] words) throws NacosException;
    }

    /** Closes the client when stdin ends or says {@code quit}. */
    interface Shutdown {
        void run() throws NacosException;
    }

    /**
     * Reads commands from stdin until {@code quit} or its end, splitting each line into at most
     * {@code maxWords} words (0: no limit); emits each command's event, or an {@code error} event
     * with the Nacos code (-1 for anything else). Then shuts the client down, emits {@code bye}
     * and exits 0.
     */
    static void serve(int maxWords, Command command, Shutdown shutdown) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] words = line.trim().split("\\s+", maxWords);
            if (words[0].isEmpty()) {
                continue;
            }
            if (words[0].equals("quit")) {
                break;
            }
            try {
                emit(command.run(words));
            } catch (NacosException e) {
                emit(error(e.getErrCode(), e.getErrMsg()));
            } catch (RuntimeException e) {
                emit(error(-1, String.valueOf(e)));
            }
        }
        try {
            shutdown.run();
        } catch (NacosException e) {
            System.err.println("shutdown failed: " + e);
        }
        emit(event("bye"));
        System.exit(0);
    }

    private static Map<String, Object> error(int code, String message) {
        Map<String, Object> err = event("error");
        err.put("code", code);
        err.put("message", message);
        return err;
    }
}
