//! The docker-compose demo cannot drift from the CLI: every Sluice service's
//! `command:` in `docker/compose.yaml` passes `host … --check`.

use sluice_tests::host;
use yaml_rust2::{Yaml, YamlLoader};

#[test]
fn every_sluice_command_in_the_compose_demo_passes_check() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker/compose.yaml");
    let text = std::fs::read_to_string(path).expect("docker/compose.yaml");
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    let services = docs[0]["services"].as_hash().expect("a services map");
    let mut checked = Vec::new();
    for (name, service) in services {
        if service["image"].as_str() != Some("sluice") {
            continue;
        }
        let name = name.as_str().unwrap();
        let command: Vec<&str> = match &service["command"] {
            Yaml::Array(items) => items
                .iter()
                .map(|i| i.as_str().expect("a string"))
                .collect(),
            other => panic!("service {name}: command must be a list, not {other:?}"),
        };
        let mut args = command.clone();
        args.push("--check");
        let run = host(&args, "");
        assert_eq!(
            run.code,
            0,
            "service {name}: host {}\n{}",
            command.join(" "),
            run.stderr
        );
        assert!(run.stdout.contains("plugin 1:"), "{name}: {}", run.stdout);
        checked.push(name.to_string());
    }
    assert_eq!(checked, ["generator", "processor", "processor-kafka"]);
}

#[test]
fn prometheus_in_the_compose_demo_scrapes_the_processors_metrics_ports() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../docker/");
    let compose = std::fs::read_to_string(format!("{dir}compose.yaml")).unwrap();
    let compose = &YamlLoader::load_from_str(&compose).unwrap()[0];
    let prometheus = std::fs::read_to_string(format!("{dir}prometheus.yml")).unwrap();
    let prometheus = &YamlLoader::load_from_str(&prometheus).unwrap()[0];
    let job = &prometheus["scrape_configs"][0];
    let mut scraped: Vec<(String, String)> = job["static_configs"][0]["targets"]
        .as_vec()
        .expect("static targets")
        .iter()
        .map(|t| {
            let (service, port) = t.as_str().unwrap().split_once(':').unwrap();
            (service.to_string(), port.to_string())
        })
        .collect();
    // Replicas are found by their service name's addresses.
    let dns = &job["dns_sd_configs"][0];
    for name in dns["names"].as_vec().expect("DNS names") {
        let port = dns["port"].as_i64().expect("a port").to_string();
        scraped.push((name.as_str().unwrap().to_string(), port));
    }
    assert_eq!(scraped.len(), 2);
    for (service, port) in &scraped {
        let command: Vec<&str> = compose["services"][service.as_str()]["command"]
            .as_vec()
            .unwrap_or_else(|| panic!("a service {service}"))
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let serves = command.iter().any(|c| {
            *c == format!("--ui=0.0.0.0:{port}") || *c == format!("--metrics-addr=0.0.0.0:{port}")
        });
        assert!(serves, "{service} serves /metrics on {port}: {command:?}");
    }
    let replicas = compose["services"]["processor-kafka"]["deploy"]["replicas"].as_i64();
    assert_eq!(
        replicas,
        Some(3),
        "the Kafka-sink processor runs as three replicas"
    );
    assert_eq!(
        compose["services"]["prometheus"]["volumes"][0].as_str(),
        Some("./prometheus.yml:/etc/prometheus/prometheus.yml:ro")
    );
}
