/*
 * Stand-in for the part of nacos-console's ConsoleConfig (Nacos 2.2.4) that the server needs:
 * registering the HTTP controllers with ControllerMethodsCache. Without it the naming filters
 * answer every /v1/ns/** call with 501 "no such api".
 */
package com.alibaba.nacos.console.config;

import com.alibaba.nacos.core.code.ControllerMethodsCache;
import org.springframework.stereotype.Component;

import javax.annotation.PostConstruct;

@Component
public class ConsoleConfig {

    private final ControllerMethodsCache methodsCache;

    public ConsoleConfig(ControllerMethodsCache methodsCache) {
        this.methodsCache = methodsCache;
    }

    @PostConstruct
    public void init() {
        methodsCache.initClassMethod("com.alibaba.nacos.core.controller");
        methodsCache.initClassMethod("com.alibaba.nacos.naming.controllers");
        methodsCache.initClassMethod("com.alibaba.nacos.config.server.controller");
        methodsCache.initClassMethod("com.alibaba.nacos.console.controller");
    }
}
