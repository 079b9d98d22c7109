package nacosremote.interop;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

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
}
