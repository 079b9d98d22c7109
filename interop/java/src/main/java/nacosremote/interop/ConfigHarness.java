package nacosremote.interop;

import com.alibaba.nacos.api.config.ConfigFactory;
import com.alibaba.nacos.api.config.ConfigService;
import com.alibaba.nacos.api.config.listener.AbstractListener;
import com.alibaba.nacos.api.exception.NacosException;

import java.util.Map;
import java.util.Properties;

import static nacosremote.interop.LineProtocol.emit;
import static nacosremote.interop.LineProtocol.event;

/**
 * Drives the real nacos-client {@link ConfigService} against a server under test.
 *
 * <p>Same line protocol as {@link NamingHarness}; commands on stdin, one per line:
 * {@code get DATAID GROUP} (answers {@code config} with {@code source: query}),
 * {@code publish DATAID GROUP CONTENT...} (the rest of the line is the content; answers {@code ok}
 * or {@code error}), {@code listen DATAID GROUP} (answers {@code ok}; every change is then a
 * {@code config} event with {@code source: push}), {@code quit}. A {@code config} event carries
 * {@code dataId}, {@code group} and {@code content} (null when there is none).
 */
public final class ConfigHarness {

    private ConfigHarness() {
    }

    public static void main(String[] args) throws Exception {
        Properties properties = LineProtocol.serviceClientProperties(args);
        ConfigService config = ConfigFactory.createConfigService(properties);
        emit(event("started"));

        LineProtocol.serve(4, words -> run(config, words), config::shutDown);
    }

    private static Map<String, Object> run(ConfigService config, String[] words) throws NacosException {
        if (words.length < 3) {
            throw new IllegalArgumentException(words[0] + " needs DATAID GROUP");
        }
        String dataId = words[1];
        String group = words[2];
        switch (words[0]) {
            case "get" -> {
                return change("query", dataId, group, config.getConfig(dataId, group, 5000));
            }
            case "publish" -> {
                if (words.length < 4 || !config.publishConfig(dataId, group, words[3])) {
                    throw new IllegalStateException("publish refused");
                }
                return event("ok");
            }
            case "listen" -> {
                config.addListener(dataId, group, new AbstractListener() {
                    @Override
                    public void receiveConfigInfo(String content) {
                        emit(change("push", dataId, group, content));
                    }
                });
                return event("ok");
            }
            default -> throw new IllegalArgumentException("unknown command: " + words[0]);
        }
    }

    private static Map<String, Object> change(String source, String dataId, String group, String content) {
        Map<String, Object> ev = event("config");
        ev.put("source", source);
        ev.put("dataId", dataId);
        ev.put("group", group);
        ev.put("content", content);
        return ev;
    }
}
