/*
 * The io.springboot.nacos 2.2.4 republication ships JRaftProtocol.addRequestProcessors as an empty
 * method, so no raft group is ever created and everything on the CP protocol fails with
 * "No corresponding Raft Group found : naming_persistent_service_v2" (persistent instances,
 * service/instance metadata). Upstream Nacos 2.2.4's body is raftServer.createMultiRaftGroup(processors);
 * this wraps the strongAgreementProtocol bean and restores that call. The wrapper extends
 * AbstractConsistencyProtocol<RaftConfig, ...> because ProtocolManager finds the protocol's config
 * type from that generic superclass.
 */
package nacosremote.peer;

import com.alibaba.nacos.common.model.RestResult;
import com.alibaba.nacos.consistency.ProtocolMetaData;
import com.alibaba.nacos.consistency.cp.CPProtocol;
import com.alibaba.nacos.consistency.cp.RequestProcessor4CP;
import com.alibaba.nacos.consistency.entity.ReadRequest;
import com.alibaba.nacos.consistency.entity.Response;
import com.alibaba.nacos.consistency.entity.WriteRequest;
import com.alibaba.nacos.core.distributed.AbstractConsistencyProtocol;
import com.alibaba.nacos.core.distributed.raft.JRaftProtocol;
import com.alibaba.nacos.core.distributed.raft.RaftConfig;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.stereotype.Component;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

@Component
public class RaftGroupsFix implements BeanPostProcessor {

    @Override
    public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
        return bean instanceof JRaftProtocol ? new FixedJRaftProtocol((JRaftProtocol) bean) : bean;
    }

    static final class FixedJRaftProtocol extends AbstractConsistencyProtocol<RaftConfig, RequestProcessor4CP>
            implements CPProtocol<RaftConfig, RequestProcessor4CP> {

        private final JRaftProtocol target;

        FixedJRaftProtocol(JRaftProtocol target) {
            this.target = target;
        }

        @Override
        public void addRequestProcessors(Collection<RequestProcessor4CP> processors) {
            try {
                Field field = JRaftProtocol.class.getDeclaredField("raftServer");
                field.setAccessible(true);
                Object server = field.get(target);
                Method create = server.getClass().getDeclaredMethod("createMultiRaftGroup", Collection.class);
                create.setAccessible(true);
                create.invoke(server, processors);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot create raft groups", e);
            }
        }

        @Override
        public void init(RaftConfig config) {
            target.init(config);
        }

        @Override
        public ProtocolMetaData protocolMetaData() {
            return target.protocolMetaData();
        }

        @Override
        public Response getData(ReadRequest request) throws Exception {
            return target.getData(request);
        }

        @Override
        public CompletableFuture<Response> aGetData(ReadRequest request) {
            return target.aGetData(request);
        }

        @Override
        public Response write(WriteRequest request) throws Exception {
            return target.write(request);
        }

        @Override
        public CompletableFuture<Response> writeAsync(WriteRequest request) {
            return target.writeAsync(request);
        }

        @Override
        public void memberChange(Set<String> addresses) {
            target.memberChange(addresses);
        }

        @Override
        public void shutdown() {
            target.shutdown();
        }

        @Override
        public RestResult<String> execute(Map<String, String> args) {
            return target.execute(args);
        }

        @Override
        public boolean isLeader(String group) {
            return target.isLeader(group);
        }
    }
}
