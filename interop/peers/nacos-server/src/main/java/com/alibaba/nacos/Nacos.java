/*
 * Launcher equivalent to nacos-console's com.alibaba.nacos.Nacos (Nacos 2.2.4), which is not
 * published on Maven Central. Everything else (core, config, naming, auth plugin) comes from
 * the io.springboot.nacos 2.2.4 artifacts.
 */
package com.alibaba.nacos;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.servlet.ServletComponentScan;
import org.springframework.scheduling.annotation.EnableScheduling;

@SpringBootApplication(scanBasePackages = {"com.alibaba.nacos", "nacosremote.peer"})
@ServletComponentScan
@EnableScheduling
public class Nacos {

    public static void main(String[] args) {
        SpringApplication.run(Nacos.class, args);
    }
}
