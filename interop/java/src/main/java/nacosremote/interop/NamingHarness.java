package nacosremote.interop;

import com.alibaba.nacos.api.exception.NacosException;
import com.alibaba.nacos.api.naming.NamingFactory;
import com.alibaba.nacos.api.naming.NamingService;
import com.alibaba.nacos.api.naming.listener.NamingEvent;
import com.alibaba.nacos.api.naming.pojo.Instance;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import static nacosremote.interop.LineProtocol.emit;
import static nacosremote.interop.LineProtocol.event;

/**
 * Drives the real nacos-client {@link NamingService} (2.2.4, or 3.1.0 in the nacos3 build) against a server under test.
 *
 * <p>Same line protocol as {@link JavaClientHarness}: one JSON object per line on stdout, commands
 * on stdin, one per line, words separated by spaces:
 * {@code register SERVICE IP PORT [CLUSTER]}, {@code register-persistent SERVICE IP PORT},
 * {@code deregister SERVICE IP PORT}, {@code list SERVICE} (a query, no subscription),
 * {@code subscribe SERVICE} (every change is then an {@code instances} event with
 * {@code source: push}), {@code quit}. Each command answers {@code ok}, {@code instances} or
 * {@code error}.
 */
public final class NamingHarness {

    private NamingHarness() {
    }

    public static void main(String[] args) throws Exception {
        Properties properties = LineProtocol.serviceClientProperties(args);
        NamingService naming = NamingFactory.createNamingService(properties);
        emit(event("started"));

        LineProtocol.serve(0, words -> run(naming, words), naming::shutDown);
    }

    private static Map<String, Object> run(NamingService naming, String[] words) throws NacosException {
        String command = words[0];
        switch (command) {
            case "register" -> {
                Instance instance = instance(words, true);
                naming.registerInstance(words[1], instance);
                return event("ok");
            }
            case "register-persistent" -> {
                naming.registerInstance(words[1], instance(words, false));
                return event("ok");
            }
            case "deregister" -> {
                naming.deregisterInstance(words[1], words[2], Integer.parseInt(words[3]));
                return event("ok");
            }
            case "list" -> {
                return instances(words[1], "query", naming.getAllInstances(words[1], false));
            }
            case "subscribe" -> {
                String service = words[1];
                naming.subscribe(service, e -> {
                    if (e instanceof NamingEvent change) {
                        emit(instances(service, "push", change.getInstances()));
                    }
                });
                return event("ok");
            }
            default -> throw new IllegalArgumentException("unknown command: " + command);
        }
    }

    private static Instance instance(String[] words, boolean ephemeral) {
        Instance instance = new Instance();
        instance.setIp(words[2]);
        instance.setPort(Integer.parseInt(words[3]));
        if (words.length > 4) {
            instance.setClusterName(words[4]);
        }
        instance.setEphemeral(ephemeral);
        return instance;
    }

    private static Map<String, Object> instances(String service, String source, List<Instance> hosts) {
        Map<String, Object> ev = event("instances");
        ev.put("service", service);
        ev.put("source", source);
        ev.put("hosts", hosts.stream().map(h -> h.getIp() + ":" + h.getPort()).sorted().toList());
        ev.put("clusters", hosts.stream().map(Instance::getClusterName).distinct().sorted().toList());
        return ev;
    }
}
