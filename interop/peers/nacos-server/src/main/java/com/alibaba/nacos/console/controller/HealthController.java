/*
 * Stand-in for nacos-console's /v1/console/health endpoints (nacos-console is not published on
 * Maven Central). Same checks as the console's 2.2.x controller: config storage answers a count,
 * naming answers its operator metrics.
 */
package com.alibaba.nacos.console.controller;

import com.alibaba.nacos.config.server.service.repository.ConfigInfoPersistService;
import com.alibaba.nacos.naming.controllers.OperatorController;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import javax.servlet.http.HttpServletRequest;

@RestController("consoleHealth")
@RequestMapping("/v1/console/health")
public class HealthController {

    private final ConfigInfoPersistService configInfoPersistService;

    private final OperatorController operatorController;

    public HealthController(ConfigInfoPersistService configInfoPersistService,
            OperatorController operatorController) {
        this.configInfoPersistService = configInfoPersistService;
        this.operatorController = operatorController;
    }

    @GetMapping("/liveness")
    public ResponseEntity<String> liveness() {
        return ResponseEntity.ok("OK");
    }

    @GetMapping("/readiness")
    public ResponseEntity<String> readiness(HttpServletRequest request) {
        boolean config;
        boolean naming;
        try {
            configInfoPersistService.configInfoCount("");
            config = true;
        } catch (Exception e) {
            config = false;
        }
        try {
            operatorController.metrics(request);
            naming = true;
        } catch (Exception e) {
            naming = false;
        }
        if (config && naming) {
            return ResponseEntity.ok("OK");
        }
        if (!config && !naming) {
            return ResponseEntity.status(500).body("Config and Naming are not in readiness");
        }
        return ResponseEntity.status(500).body(config ? "Naming is not in readiness" : "Config is not in readiness");
    }
}
